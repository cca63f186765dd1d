// Deleting an app (docs/DESIGN.md#deleting-an-app) through the router, the service binding, the
// HTTP API and the clients: a sharded app's objects all freed (the home object last), a move
// refused, the HTTP answers, and `RemoteSessionManager.deleteApp` on all three transports.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ConnectionManager,
  objectName,
  type SessionManagerRpc,
  SessionRouter,
  unwrap,
} from "../../src/index";
import { layoutObjects, objectsOf } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { eventsDelivered, storageOf } from "./deletion";
import { eventsOf, repeatsOf } from "./deliveries";
import { call, createMany, keys, manager, T0 } from "./helpers";
import { flakyQueue, resetFlakyQueue } from "./main";
import { TRANSPORTS } from "./transports";
import { type Namespace, ns } from "./user-objects";

beforeEach(() => {
  testClock.now = T0;
  resetFlakyQueue();
});

function stub(name: string): SessionObjectRpc & DurableObjectStub {
  return ns().getByName(name) as unknown as SessionObjectRpc & DurableObjectStub;
}

/** The worker's RPC entrypoint, as a user's Worker reaches it through a service binding. */
function service(): SessionManagerRpc {
  return env.SESSIONS as unknown as SessionManagerRpc;
}

/** Stores a session at each key through the service binding (so over the app's shards). */
async function seed(app: string, count: number): Promise<string[]> {
  const sids: string[] = [];
  for (const key of keys("k", count)) {
    const stored = unwrap(
      await service().commit(app, { key, sid: null, version: 0, set: { key } }),
    );
    sids.push((stored as { sid: string }).sid);
  }
  return sids;
}

const fixtures = TRANSPORTS;

describe("deleting a sharded app", () => {
  it("deletes every shard, then the home object; each session ends once", async () => {
    const app = "del-sharded";
    unwrap(await service().configure(app, { shards: 4 }));
    const sids = await seed(app, 80);
    const answer = unwrap(await service().deleteApp(app));
    expect(answer).toEqual({ app, deleted: true, sessions: 0, pendingEvents: 0 });

    await eventsDelivered();
    const ends = eventsOf(app).filter((e) => e.type === "end");
    expect(new Set(ends.map((e) => e.id))).toEqual(new Set(sids.map((sid) => `${sid}:end`)));
    expect(ends).toHaveLength(80);
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
    for (const name of [...objectsOf(app, 4), objectName(app)]) {
      expect(await storageOf(stub(name))).toEqual({ tables: [], alarm: null, record: undefined });
    }
    // The name opens again as a new app, with one shard this time.
    expect(unwrap(await service().open(app, { shards: 1 })).shards).toBe(1);
    expect(unwrap(await service().get(app, "k1"))).toMatchObject({ version: 0, data: {} });
    expect(unwrap(await service().stats(app))).toMatchObject({ sessions: 0 });
  });

  it("while a shard waits for the Queue, the home object waits too, and its stats say what is left", async () => {
    const app = "del-sharded-wait";
    const flaky = env.FLAKY_MANAGER as unknown as Namespace;
    const router = new SessionRouter(flaky);
    unwrap(await router.configure(app, { shards: 2 }));
    for (const key of keys("w", 10)) {
      unwrap(await router.commit(app, { key, sid: null, version: 0, set: { key } }));
    }
    flakyQueue.failuresLeft = 1000;
    const first = unwrap(await router.deleteApp(app));
    expect(first).toEqual({ app, deleted: false, sessions: 0, pendingEvents: 10 });
    // The stats come from the home object alone: what the shards held when it last asked them.
    expect(unwrap(await router.stats(app))).toMatchObject({
      deleting: true,
      sessions: 0,
      pendingEvents: 10,
    });
    expect(await router.get(app, "w1")).toMatchObject({
      ok: false,
      error: { code: "app_deleting" },
    });

    // The Queue takes the events again: the shards send them and free their storage, then the
    // home object, on its next alarm.
    flakyQueue.failuresLeft = 0;
    const flakyStub = (name: string) =>
      flaky.getByName(name) as unknown as SessionObjectRpc & DurableObjectStub;
    for (const name of objectsOf(app, 2)) await runDurableObjectAlarm(flakyStub(name));
    await runDurableObjectAlarm(flakyStub(objectName(app)));
    expect(await router.deleteApp(app)).toMatchObject({
      ok: false,
      error: { code: "app_not_found" },
    });
    expect(new Set(flakyQueue.accepted.map((e) => e.key))).toEqual(new Set(keys("w", 10)));
    for (const name of [...objectsOf(app, 2), objectName(app)]) {
      expect(await storageOf(flakyStub(name))).toEqual({
        tables: [],
        alarm: null,
        record: undefined,
      });
    }
  });

  it("deletes the objects a shrink emptied too", async () => {
    const app = "del-shrunk";
    const router = new SessionRouter(ns());
    unwrap(await router.configure(app, { shards: 4 }));
    await seed(app, 40);
    unwrap(await router.configure(app, { shards: 2 }));
    for (let round = 0; round < 40; round++) {
      const { layout } = unwrap(await stub(objectName(app)).layout(app));
      if (layout.from === null) break;
      for (const name of layoutObjects(app, layout)) await runDurableObjectAlarm(stub(name));
    }
    expect((await storageOf(stub(`${app}#3`))).tables).toContain("app"); // emptied, not freed
    expect(unwrap(await router.deleteApp(app)).deleted).toBe(true);
    for (const name of [...objectsOf(app, 4), objectName(app)]) {
      expect(await storageOf(stub(name))).toEqual({ tables: [], alarm: null, record: undefined });
    }
  });

  it("refuses to delete an app whose sessions are moving between shards (409 app_moving)", async () => {
    const app = "del-moving";
    const router = new SessionRouter(ns());
    unwrap(await router.configure(app, { shards: 2 }));
    await seed(app, 20);
    unwrap(await router.configure(app, { shards: 3 })); // a move begins; no alarm has run yet
    const refused = await router.deleteApp(app);
    expect(refused).toMatchObject({ ok: false, error: { code: "app_moving", status: 409 } });
    expect(refused.ok ? "" : refused.error.message).toContain("once the move ends");
    // Nothing changed: every session is still there.
    expect(unwrap(await router.stats(app))).toMatchObject({ sessions: 20 });
    expect(unwrap(await router.get(app, "k3")).data).toEqual({ key: "k3" });

    // Once the move ends, the app can be deleted.
    for (let round = 0; round < 40; round++) {
      const { layout } = unwrap(await stub(objectName(app)).layout(app));
      if (layout.from === null) break;
      for (const name of layoutObjects(app, layout)) await runDurableObjectAlarm(stub(name));
    }
    expect(unwrap(await router.deleteApp(app)).deleted).toBe(true);
  });
});

describe("a router that knew the app before it was deleted", () => {
  it("finds it gone, then follows the app made again with other settings", async () => {
    const app = "del-stale";
    const stale = new SessionRouter(ns());
    unwrap(await stale.configure(app, { shards: 2 }));
    unwrap(await stale.configure(app, { shards: 4 })); // a move: the layout's epoch grows
    for (let round = 0; round < 40; round++) {
      const { layout } = unwrap(await stub(objectName(app)).layout(app));
      if (layout.from === null) break;
      for (const name of layoutObjects(app, layout)) await runDurableObjectAlarm(stub(name));
    }
    for (const key of keys("k", 8)) {
      unwrap(await stale.commit(app, { key, sid: null, version: 0, set: { old: true } }));
    }
    // Deleted through another isolate's router: `stale` still caches the layout of 4 shards.
    expect(unwrap(await new SessionRouter(ns()).deleteApp(app)).deleted).toBe(true);

    // Gone: a read finds a new, empty session, and writes nothing.
    expect(unwrap(await stale.get(app, "k5"))).toMatchObject({ version: 0, data: {} });
    expect((await new SessionRouter(ns()).stats(app)).ok).toBe(false);

    // Made again, with 2 shards and another timeout: `stale` follows it.
    const fresh = new SessionRouter(ns());
    unwrap(await fresh.configure(app, { shards: 2, timeout: 300 }));
    for (const key of keys("k", 8)) {
      const stored = unwrap(await stale.commit(app, { key, sid: null, version: 0, set: { n: 1 } }));
      expect(stored).toMatchObject({ version: 1, data: { n: 1 } });
      const holder = objectName(app, key, 2);
      expect(unwrap(await stub(holder).stats(app)).settings.timeout).toBe(300);
    }
    expect(unwrap(await fresh.stats(app))).toMatchObject({ sessions: 8 });
    expect(unwrap(await fresh.get(app, "k3")).data).toEqual({ n: 1 });
  });
});

describe("DELETE /v1/apps/{app}", () => {
  it("answers 202 with what is left while the work goes on, then 200 once deleted", async () => {
    const app = "del-http";
    unwrap(await manager(app).open(app));
    // More than one step's work (20 batches of 500), so the first call leaves some.
    await createMany(manager(app), app, keys("h", 10_050));
    const first = await call("DELETE", `/v1/apps/${app}`);
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ app, deleted: false, sessions: 50, pendingEvents: 0 });

    // Meanwhile: the stats say so, and session calls answer 503 app_deleting, changing nothing.
    const stats = await call("GET", `/v1/apps/${app}`);
    expect(await stats.json()).toMatchObject({ app, deleting: true, sessions: 50 });
    const read = await call("GET", `/v1/apps/${app}/sessions/h10049`);
    expect(read.status).toBe(503);
    expect(read.headers.get("Retry-After")).toBe("5");
    expect(await read.json()).toMatchObject({ error: { code: "app_deleting" } });
    const write = await call("PATCH", `/v1/apps/${app}/sessions/new`, {
      sid: null,
      version: 0,
      set: { n: 1 },
    });
    expect(write.status).toBe(503);
    expect((await call("PUT", `/v1/apps/${app}`, { timeout: 60 })).status).toBe(503);
    // Every client says the same: app_deleting, nothing changed (not "may have been applied").
    for (const { factory } of fixtures) {
      const error = await factory(app)
        .open(new ConnectionManager())
        .then((sessions) => sessions.get("h7"))
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "app_deleting", status: 503 });
      expect((error as Error).message).toMatch(/^App "del-http" is being deleted: nothing/);
    }

    const done = await call("DELETE", `/v1/apps/${app}`);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ app, deleted: true, sessions: 0, pendingEvents: 0 });
    expect((await call("GET", `/v1/apps/${app}`)).status).toBe(404);
    expect((await call("DELETE", `/v1/apps/${app}`)).status).toBe(404);
  });

  it("answers 404 app_not_found for an app never used, and 400 for a bad name", async () => {
    const unknown = await call("DELETE", "/v1/apps/del-nobody");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "app_not_found" } });
    const bad = await call("DELETE", "/v1/apps/bad%20name");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_key" } });
  });

  it("needs the API token", async () => {
    const response = await exports.default.fetch(
      new Request("https://sessions.test/v1/apps/del-token", { method: "DELETE" }),
    );
    expect(response.status).toBe(401);
  });
});

describe.each(fixtures)("RemoteSessionManager.deleteApp over $name", ({ name, factory }) => {
  it("deletes the app: its sessions end, a second delete finds none, the name opens again", async () => {
    const app = `del-client-${name.toLowerCase().replace(/[^a-z]+/g, "-")}`;
    const cm = new ConnectionManager();
    const sessions = await factory(app).open(cm);
    (await sessions.get("a")).set("n", 1);
    await cm.commit();
    expect(await sessions.deleteApp()).toEqual({
      app,
      deleted: true,
      sessions: 0,
      pendingEvents: 0,
    });
    await eventsDelivered();
    expect(eventsOf(app).map((e) => [e.type, e.key, e.reason])).toEqual([
      ["end", "a", "invalidated"],
    ]);
    await expect(sessions.deleteApp()).rejects.toMatchObject({
      code: "app_not_found",
      status: 404,
    });
    // Opened again, the app is a new one.
    const again = await factory(app).open(new ConnectionManager());
    expect((await again.get("a")).isNew).toBe(true);
  });
});
