import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { sessions } from "../../src/hono/index";
import {
  DurableObjectSessionManagerFactory,
  objectName,
  SessionRouter,
  shardOf,
  unwrap,
} from "../../src/index";
import { testClock } from "./clock";
import { call, T0 } from "./helpers";

const KEYS = Array.from({ length: 40 }, (_, i) => `user-${i}`);

beforeEach(() => {
  testClock.now = T0;
});

describe("an app with shards", () => {
  it("spreads its sessions over the shards by key, and every operation finds them", async () => {
    const app = "sharded-ops";
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 4 })).status).toBe(200);
    for (const key of KEYS) {
      const res = await call("PATCH", `/v1/apps/${app}/sessions/${key}`, {
        version: 0,
        set: { key },
      });
      expect(res.status).toBe(200);
    }
    // Each shard object holds exactly the keys that hash to it; the home object holds none.
    for (let shard = 0; shard < 4; shard++) {
      const stats = unwrap(
        await new SessionRouter(env.SESSION_MANAGER).object(`${app}#${shard}`).stats(app),
      );
      expect(stats.sessions).toBe(KEYS.filter((k) => shardOf(k, 4) === shard).length);
      expect(stats.settings.shards).toBe(4);
    }
    const home = unwrap(
      await new SessionRouter(env.SESSION_MANAGER).object(objectName(app)).stats(app),
    );
    expect(home.sessions).toBe(0);
    // Reads, invalidation and stats go through the same routing.
    const read = await call("GET", `/v1/apps/${app}/sessions/user-7`);
    expect(await read.json()).toMatchObject({ data: { key: "user-7" } });
    expect((await call("HEAD", `/v1/apps/${app}/sessions/user-8`)).status).toBe(200);
    expect((await call("DELETE", `/v1/apps/${app}/sessions/user-9`)).status).toBe(204);
    const stats = (await (await call("GET", `/v1/apps/${app}`)).json()) as { sessions: number };
    expect(stats.sessions).toBe(KEYS.length - 1);
  });

  it("stores each key in the object its pinned placement names", async () => {
    // Placements pinned in test/core/shard-hash.test.ts: "user-1" → 0 and "shop:cart" → 3 of 4,
    // "k0" → 14 of 16. Written here as literals, so a changed hash fails this test too.
    const pinned: [app: string, shards: number, key: string, object: string][] = [
      ["pinned-4", 4, "user-1", "pinned-4#0"],
      ["pinned-4", 4, "shop:cart", "pinned-4#3"],
      ["pinned-16", 16, "k0", "pinned-16#14"],
    ];
    for (const [app, shards, key, object] of pinned) {
      expect((await call("PUT", `/v1/apps/${app}`, { shards })).status).toBe(200);
      const res = await call("PATCH", `/v1/apps/${app}/sessions/${key}`, {
        version: 0,
        set: { key },
      });
      expect(res.status).toBe(200);
      const held = await runInDurableObject(env.SESSION_MANAGER.getByName(object), (_i, state) =>
        state.storage.sql
          .exec<{ key: string }>("SELECT key FROM sessions WHERE key = ?", key)
          .toArray(),
      );
      expect(held, `${key} in ${object}`).toEqual([{ key }]);
    }
  });

  it("changes the number of shards of an existing app on purpose, and open still compares it", async () => {
    const app = "sharded-fixed";
    await call("PUT", `/v1/apps/${app}`, { shards: 4 });
    const res = await call("PUT", `/v1/apps/${app}`, { shards: 2 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ settings: { shards: 2 } });
    const stats = (await (await call("GET", `/v1/apps/${app}`)).json()) as { layout: unknown };
    expect(stats.layout).toMatchObject({ epoch: 2, shards: 2, from: 4 });
    const open = await call("POST", `/v1/apps/${app}`, { shards: 8 });
    expect(open.status).toBe(409);
    expect(await open.json()).toMatchObject({
      error: { code: "settings_mismatch", setting: "shards" },
    });
  });

  it("gives every shard the settings the app is reconfigured with", async () => {
    const app = "sharded-configure";
    await call("PUT", `/v1/apps/${app}`, { shards: 3, timeout: 100 });
    await call("PATCH", `/v1/apps/${app}/sessions/a`, { version: 0, set: { n: 1 } });
    expect((await call("PUT", `/v1/apps/${app}`, { timeout: 300 })).status).toBe(200);
    const router = new SessionRouter(env.SESSION_MANAGER);
    for (let shard = 0; shard < 3; shard++) {
      expect(unwrap(await router.object(`${app}#${shard}`).stats(app)).settings.timeout).toBe(300);
    }
  });

  it("sweeps each shard on its own alarm", async () => {
    const app = "sharded-sweep";
    await call("PUT", `/v1/apps/${app}`, { shards: 4, timeout: 60, period: 20 });
    for (const key of KEYS)
      await call("PATCH", `/v1/apps/${app}/sessions/${key}`, { version: 0, set: { n: 1 } });
    testClock.now = T0 + 500;
    for (let shard = 0; shard < 4; shard++) {
      expect(await runDurableObjectAlarm(env.SESSION_MANAGER.getByName(`${app}#${shard}`))).toBe(
        true,
      );
    }
    const stats = (await (await call("GET", `/v1/apps/${app}`)).json()) as { sessions: number };
    expect(stats.sessions).toBe(0);
  });

  it("works through the Durable Object factory with a shards option", async () => {
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "sharded-factory", {
      shards: 4,
    });
    const m = await factory.open();
    expect(m.settings.shards).toBe(4);
    for (const key of KEYS.slice(0, 8)) (await m.get(key)).set("k", key);
    await m.connection.commit();
    const again = await factory.open();
    for (const key of KEYS.slice(0, 8)) expect((await again.get(key)).get("k")).toBe(key);
    const other = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "sharded-factory", {
      shards: 2,
    });
    await expect(other.open()).rejects.toThrow(/shards/);
  });

  it("refuses to move a session to a key on another shard, and the middleware picks one on the same", async () => {
    const app = "sharded-regenerate";
    await call("PUT", `/v1/apps/${app}`, { shards: 4 });
    await call("PATCH", `/v1/apps/${app}/sessions/user-1`, { version: 0, set: { n: 1 } });
    const other = KEYS.find((k) => shardOf(k, 4) !== shardOf("user-1", 4)) as string;
    const res = await call("POST", `/v1/apps/${app}/sessions/user-1/regenerate`, { newKey: other });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: "wrong_shard", shards: 4 } });

    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, app);
    const web = new Hono();
    web.use(sessions({ factory, secret: "a-test-secret-that-is-long-enough-0123456789" }));
    web.post("/write", async (c) => {
      await c.get("session").set("user", "ann");
      return c.text("ok");
    });
    web.post("/login", async (c) => {
      await c.get("session").regenerate();
      return c.json({ id: c.get("session").id });
    });
    const cookie = (await web.request("/write", { method: "POST" })).headers
      .get("set-cookie")
      ?.split(";")[0] as string;
    const login = await web.request("/login", { method: "POST", headers: { cookie } });
    expect(login.status).toBe(200);
    const { id } = (await login.json()) as { id: string };
    expect((await (await factory.open()).get(id)).get("user")).toBe("ann");
  });
});
