/**
 * Storage failures injected into the real object (FaultyStorageSessionManagerObject in
 * test/workers/main.ts wraps its `ctx.storage.sql.exec` and `transactionSync`): a commit, a
 * changeset of a group, the group's own write, the sweep, an invalidation. Each answers as
 * documented (docs/DESIGN.md#group-commit: 500 `storage_error`, nothing of it stored), loses nothing
 * acknowledged, forgets in memory what was rolled back, and the object goes on.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  type CommitResult,
  type Layout,
  objectName,
  type Result,
  type SessionObjectNamespace,
  SessionRouter,
  unwrap,
} from "../../src/index";
import { layoutObjects, ownerOf } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { apiRequest, create, createMany, keys, manager, T0 } from "./helpers";
import { type FaultyStorageSessionManagerObject, storageFaults } from "./main";

beforeEach(() => {
  testClock.now = T0;
  storageFaults.failStatement = undefined;
  storageFaults.failTransaction = undefined;
  storageFaults.failures = 0;
  storageFaults.hooked.length = 0;
  storageFaults.accepted.length = 0;
});

function faulty(app: string) {
  return manager(app, env.FAULTY_STORAGE_MANAGER);
}

/** A statement that writes the row of session `key` (a save or a touch). */
function writesRowOf(key: string) {
  return (query: string, bindings: unknown[]) =>
    /^(INSERT OR REPLACE INTO sessions|UPDATE sessions)/.test(query) && bindings.includes(key);
}

function expectStorageError(result: Result<CommitResult>, key: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error).toMatchObject({ code: "storage_error", status: 500, key });
  expect(result.error.message).toContain("nothing of it was stored");
}

/** What `fn` threw inside the object (caught there, not sent over RPC), or "no error". */
function inObject(
  stub: ReturnType<typeof faulty>,
  fn: (object: FaultyStorageSessionManagerObject) => unknown,
): Promise<string> {
  const typed = stub as unknown as DurableObjectStub<FaultyStorageSessionManagerObject>;
  return runInDurableObject(typed, async (object) => {
    try {
      await fn(object);
      return "no error";
    } catch (error) {
      return String(error);
    }
  });
}

/** Runs the alarm as the runtime retries a failed run. */
function retryAlarm(stub: ReturnType<typeof faulty>): Promise<void> {
  const typed = stub as unknown as DurableObjectStub<FaultyStorageSessionManagerObject>;
  return runInDurableObject(typed, (instance) =>
    instance.alarm({ retryCount: 1, isRetry: true, scheduledTime: Date.now() }),
  );
}

/** The begin/end events the hooks saw, as `type:key`. */
function hooked(): string[] {
  return storageFaults.hooked.map((e) => `${e.type}:${e.key}`);
}

describe("storage failures", () => {
  it("a commit whose row write fails answers 500 storage_error, stores nothing, and the next commit goes through", async () => {
    const app = "sf-lone";
    const stub = faulty(app);
    unwrap(await stub.open(app, { beginEvents: true }));
    const first = await create(stub, app, "a", { n: 1 });
    const other = await create(stub, app, "b", { n: 1 });
    storageFaults.failStatement = writesRowOf("a");
    const change = { key: "a", sid: first.sid, version: 1, set: { n: 2 } };
    expectStorageError(await stub.commit(app, change), "a");
    expect(storageFaults.failures).toBe(1);
    // Another session commits meanwhile.
    const b = { key: "b", sid: other.sid, version: 1, set: { n: 2 } };
    expect(unwrap(await stub.commit(app, b))).toMatchObject({ version: 2 });
    storageFaults.failStatement = undefined;

    // Memory forgot the rolled-back write: the read answers what the row holds.
    expect(unwrap(await stub.query(app, "a"))).toMatchObject({ version: 1, data: { n: 1 } });
    expect(unwrap(await stub.commit(app, change))).toMatchObject({ version: 2, data: { n: 2 } });
    expect(unwrap(await stub.query(app, "a"))).toMatchObject({ version: 2, data: { n: 2 } });
  });

  it("over HTTP, a commit whose write fails answers 500 storage_error", async () => {
    const app = "sf-http";
    const stub = faulty(app);
    const first = await create(stub, app, "h", { n: 1 });
    storageFaults.failStatement = writesRowOf("h");
    const response = await apiRequest(
      `/v1/apps/${app}/sessions/h`,
      {
        method: "PATCH",
        headers: { Authorization: "Bearer test-token", "Content-Type": "application/json" },
        body: JSON.stringify({ sid: first.sid, version: 1, set: { n: 2 } }),
      },
      { ...env, SESSION_MANAGER: env.FAULTY_STORAGE_MANAGER },
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: "storage_error" } });
    storageFaults.failStatement = undefined;
    expect(unwrap(await stub.query(app, "h"))).toMatchObject({ version: 1, data: { n: 1 } });
  });

  it("in a group, the changeset whose savepoint write fails answers storage_error alone; the others are stored", async () => {
    const app = "sf-group";
    const stub = faulty(app);
    unwrap(await stub.open(app, { beginEvents: true }));
    // The begin event of "bad" is written in its savepoint, with its outbox row.
    storageFaults.failStatement = (query, bindings) =>
      query.startsWith("INSERT INTO outbox") && String(bindings[1]).includes('"key":"bad"');
    const results = unwrap(
      await stub.commitMany(app, [
        { key: "good1", sid: null, version: 0, set: { n: 1 } },
        { key: "bad", sid: null, version: 0, set: { n: 1 } },
        { key: "good2", sid: null, version: 0, set: { n: 2 } },
      ]),
    );
    expect(storageFaults.failures).toBe(1);
    expect(results[0]).toMatchObject({ ok: true, value: { key: "good1", version: 1 } });
    expectStorageError(results[1] as Result<CommitResult>, "bad");
    expect(results[2]).toMatchObject({ ok: true, value: { key: "good2", version: 1 } });
    storageFaults.failStatement = undefined;

    expect(unwrap(await stub.query(app, "bad"))).toBeNull();
    expect(unwrap(await stub.query(app, "good2"))).toMatchObject({ data: { n: 2 } });
    // No event of the rolled-back changeset reached the hooks or the Queue.
    expect(hooked().sort()).toEqual(["begin:good1", "begin:good2"]);
    await stub.sweep(app); // sends the outbox
    expect(storageFaults.accepted.map((e) => e.key).sort()).toEqual(["good1", "good2"]);
    // And the key can be committed again.
    const again = { key: "bad", sid: null, version: 0, set: { n: 3 } };
    expect(unwrap(await stub.commit(app, again))).toMatchObject({ version: 1 });
  });

  it("in a group, an app first stored in a failed savepoint is stored by the next changeset", async () => {
    const app = "sf-first";
    const stub = faulty(app);
    let appRows = 0;
    storageFaults.failStatement = (query) =>
      query.startsWith("INSERT OR REPLACE INTO app") && appRows++ === 0;
    const results = unwrap(
      await stub.commitMany(app, [
        { key: "x", sid: null, version: 0, set: { n: 1 } },
        { key: "y", sid: null, version: 0, set: { n: 1 } },
      ]),
    );
    storageFaults.failStatement = undefined;
    expectStorageError(results[0] as Result<CommitResult>, "x");
    expect(results[1]).toMatchObject({ ok: true, value: { key: "y", version: 1 } });
    expect(unwrap(await stub.stats(app))).toMatchObject({ app, sessions: 1 });
  });

  it("when the group's held-back session writes fail, every changeset of it answers storage_error and nothing of it is stored", async () => {
    const app = "sf-batch";
    const stub = faulty(app);
    const [p, q] = await createMany(stub, app, ["p", "q"], { n: 1 });
    // The sessions' rows are written at the end of the group's transaction (SqlStore.batch).
    storageFaults.failStatement = writesRowOf("q");
    const results = unwrap(
      await stub.commitMany(app, [
        { key: "p", sid: p?.sid, version: 1, set: { n: 2 } },
        { key: "q", sid: q?.sid, version: 1, set: { n: 2 } },
      ]),
    );
    storageFaults.failStatement = undefined;
    expectStorageError(results[0] as Result<CommitResult>, "p");
    expectStorageError(results[1] as Result<CommitResult>, "q");
    // Memory forgot both: reads answer the rows, and the same snapshots commit now.
    expect(unwrap(await stub.query(app, "p"))).toMatchObject({ version: 1, data: { n: 1 } });
    expect(unwrap(await stub.query(app, "q"))).toMatchObject({ version: 1, data: { n: 1 } });
    const retry = unwrap(
      await stub.commitMany(app, [
        { key: "p", sid: p?.sid, version: 1, set: { n: 2 } },
        { key: "q", sid: q?.sid, version: 1, set: { n: 2 } },
      ]),
    );
    expect(retry.map((r) => r.ok && r.value)).toMatchObject([{ version: 2 }, { version: 2 }]);
  });

  it("a sweep whose delete fails ends nothing, emits nothing, and the next run ends each session once", async () => {
    const app = "sf-sweep";
    const stub = faulty(app);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    const created = await createMany(stub, app, keys("s", 5));
    testClock.now = T0 + 1000;
    storageFaults.hooked.length = 0;
    storageFaults.accepted.length = 0;
    storageFaults.failStatement = (query) => query.startsWith("DELETE FROM sessions");
    // The run fails: it throws, for the runtime to retry it.
    expect(
      await inObject(stub, (o) =>
        o.alarm({ retryCount: 0, isRetry: false, scheduledTime: Date.now() }),
      ),
    ).toMatch(/injected/);
    expect(storageFaults.failures).toBeGreaterThan(0);
    storageFaults.failStatement = undefined;
    expect(unwrap(await stub.stats(app)).sessions).toBe(5);
    expect(hooked()).toEqual([]);

    await retryAlarm(stub);
    expect(unwrap(await stub.stats(app))).toMatchObject({ sessions: 0, pendingEvents: 0 });
    const ended = created.map((s) => `end:${s.key}`).sort();
    expect(hooked().sort()).toEqual(ended);
    expect(storageFaults.accepted.map((e) => `${e.type}:${e.key}`).sort()).toEqual(ended);
  });

  it("a sweep batch whose transaction fails at its end hands no event to the hooks; the next run ends each session once", async () => {
    const app = "sf-sweep-tx";
    const stub = faulty(app);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    const created = await createMany(stub, app, keys("t", 3));
    testClock.now = T0 + 1000;
    storageFaults.hooked.length = 0;
    storageFaults.failTransaction = () => true;
    expect(
      await inObject(stub, (o) =>
        o.alarm({ retryCount: 0, isRetry: false, scheduledTime: Date.now() }),
      ),
    ).toMatch(/injected/);
    storageFaults.failTransaction = undefined;
    expect(storageFaults.failures).toBeGreaterThan(0);
    expect(unwrap(await stub.stats(app)).sessions).toBe(3);
    expect(hooked()).toEqual([]);

    await retryAlarm(stub);
    expect(unwrap(await stub.stats(app)).sessions).toBe(0);
    expect(hooked().sort()).toEqual(created.map((s) => `end:${s.key}`).sort());
  });

  it("a new shard count whose settings fail to store starts no move, in storage or in memory", async () => {
    const app = "sf-configure";
    const stub = faulty(app);
    await create(stub, app, "k");
    const before = unwrap(await stub.layout(app)).layout;
    storageFaults.failStatement = (query) => query.startsWith("INSERT OR REPLACE INTO app");
    expect(await inObject(stub, (o) => o.configure(app, { shards: 4 }))).toMatch(
      /injected statement/,
    );
    storageFaults.failStatement = undefined;
    const answer = unwrap(await stub.layout(app));
    expect(answer.settings.shards).toBe(1);
    expect(answer.layout).toEqual(before);
    expect(unwrap(await stub.stats(app)).settings.shards).toBe(1);
  });

  it("an invalidation whose transaction fails ends nothing and hands no event to the hooks", async () => {
    const app = "sf-invalidate";
    const stub = faulty(app);
    await create(stub, app, "v");
    storageFaults.hooked.length = 0;
    storageFaults.failTransaction = () => true;
    // Not a commit: the failure is thrown (over RPC, an exception; over HTTP, 500 internal).
    expect(await inObject(stub, (o) => o.invalidate(app, "v"))).toMatch(/injected transaction/);
    storageFaults.failTransaction = undefined;
    expect(unwrap(await stub.query(app, "v"))).toMatchObject({ version: 1 });
    expect(hooked()).toEqual([]);

    expect(unwrap(await stub.invalidate(app, "v"))).toBe(true);
    expect(hooked()).toEqual(["end:v"]);
  });

  it("a move whose owner fails to take sessions in loses none: reads answer 503 meanwhile, and the move ends once storage recovers", async () => {
    const ns = env.FAULTY_STORAGE_MANAGER as unknown as Namespace;
    const app = "sf-move";
    const router = new SessionRouter(ns);
    unwrap(await router.open(app, { beginEvents: true }));
    const keys = Array.from({ length: 24 }, (_, i) => `m${i}`);
    for (const key of keys) {
      unwrap(await router.commit(app, { key, sid: null, version: 0, set: { key } }));
    }
    storageFaults.hooked.length = 0;
    unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
    // Every owner's ledger write fails: no session can be taken in.
    storageFaults.failStatement = (query) => query.startsWith("INSERT INTO move_in");
    const moving = await homeLayout(ns, app);
    for (let round = 0; round < 3; round++) {
      for (const name of layoutObjects(app, moving)) {
        await runDurableObjectAlarm(stubOf(ns, name)).catch(() => undefined);
      }
    }
    const away = keys.find((key) => ownerOf(app, key, moving) !== objectName(app)) as string;
    const read = await router.query(app, away);
    expect(read).toMatchObject({ ok: false, error: { status: 503 } });
    // An owner asked to take a session in answers the failure, never an exception over RPC.
    const session = { key: away, sid: "s", version: 1, created: T0, lastModified: null };
    const handed = { ...session, sliceEnd: T0 + 20, data: {}, keyVersions: {}, clearedVersion: 0 };
    const owner = stubOf(ns, ownerOf(app, away, moving));
    expect(await owner.receive(app, moving.epoch, [handed])).toMatchObject({
      ok: false,
      error: { code: "storage_error", status: 500 },
    });
    expect(storageFaults.failures).toBeGreaterThan(0);

    storageFaults.failStatement = undefined;
    const layout = await drainMove(ns, app);
    expect(layout).toMatchObject({ shards: 4, from: null });
    for (const key of keys) {
      expect(unwrap(await router.query(app, key))).toMatchObject({ version: 1, data: { key } });
    }
    // Each session in exactly one object, its owner; a move is neither an end nor a begin.
    for (const name of layoutObjects(app, layout)) {
      const held = await runInDurableObject(stubOf(ns, name), (_i, state) =>
        state.storage.sql
          .exec<{ key: string }>("SELECT key FROM sessions")
          .toArray()
          .map((r) => r.key),
      );
      for (const key of held) expect(ownerOf(app, key, layout)).toBe(name);
    }
    expect(storageFaults.hooked).toEqual([]);
  });
});

type Namespace = DurableObjectNamespace & SessionObjectNamespace;

function stubOf(ns: Namespace, name: string): SessionObjectRpc & DurableObjectStub {
  return ns.getByName(name) as unknown as SessionObjectRpc & DurableObjectStub;
}

async function homeLayout(ns: Namespace, app: string): Promise<Layout> {
  return unwrap(await stubOf(ns, objectName(app)).layout(app)).layout;
}

/** Runs the alarms of every object of the app until its move has ended (bounded). */
async function drainMove(ns: Namespace, app: string): Promise<Layout> {
  for (let round = 0; round < 40; round++) {
    const layout = await homeLayout(ns, app);
    if (layout.from === null) return layout;
    for (const name of layoutObjects(app, layout)) await runDurableObjectAlarm(stubOf(ns, name));
  }
  throw new Error(`the move of ${app} did not end`);
}
