// Promises at the edges of the API, over HTTP and RPC with the Durable Object behind: a commit
// that changes no data stores nothing; a settings change never ends a session sooner than the
// timeout after its last access; a refused call writes nothing, not even the app; a direct
// caller cannot move a session off its shard; RPC answers what HTTP answers.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { type Result, type SessionManagerRpc, shardOf, unwrap } from "../../src/index";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { resultOfText } from "../../src/routing/wire";
import { testClock } from "./clock";
import { call, manager, T0 } from "./helpers";

const service = exports.SessionService as unknown as SessionManagerRpc;

let apps = 0;
function newApp(): string {
  return `edges-${++apps}`;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
async function body(res: Response): Promise<any> {
  return res.json();
}

/** What the app's (only) object has stored: its app row and sessions, read from SQLite. */
async function storedRows(app: string): Promise<{ apps: number; sessions: number }> {
  return runInDurableObject(manager(app), (_instance, state) => ({
    apps: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM app").one().n,
    sessions: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sessions").one().n,
  }));
}

function errorOf(result: Result<unknown>) {
  expect(result.ok).toBe(false);
  return result.ok ? undefined : result.error;
}

beforeEach(() => {
  testClock.now = T0;
});

describe("a commit that changes no data", () => {
  it.each([
    ["a clear", { version: 0, clear: true }],
    ["a delete of a missing key", { version: 0, delete: ["nope"] }],
    ["an empty set", { version: 0, set: {} }],
    ["a lastModified alone", { version: 0, lastModified: T0 }],
  ])("stores nothing for %s on a never-stored key (HTTP)", async (_, changes) => {
    const app = newApp();
    expect((await call("PUT", `/v1/apps/${app}`, { beginEvents: true })).status).toBe(200);
    const before = await manager(app).usage();
    const path = `/v1/apps/${app}/sessions/abc`;
    const res = await call("PATCH", path, changes);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ key: "abc", stored: false, valid: true });
    expect((await call("GET", path)).status).toBe(404);
    // Nothing written: no session, and no begin event waiting in the outbox.
    expect((await manager(app).usage()).rowsWritten).toBe(before.rowsWritten);
    const stats = await body(await call("GET", `/v1/apps/${app}`));
    expect(stats).toMatchObject({ sessions: 0, pendingEvents: 0 });
  });

  it("stores nothing for a clear or a delete of a missing key on a never-stored key (RPC)", async () => {
    const app = newApp();
    for (const changes of [
      { key: "k", version: 0, clear: true },
      { key: "k", version: 0, delete: ["nope"] },
    ]) {
      expect(unwrap(await service.commit(app, changes))).toEqual({
        key: "k",
        stored: false,
        valid: true,
      });
    }
    expect(unwrap(await service.has(app, "k"))).toBe(false);
    expect(await storedRows(app)).toEqual({ apps: 0, sessions: 0 });
  });

  it("writes nothing and keeps the version of a stored session it does not change", async () => {
    const app = newApp();
    const path = `/v1/apps/${app}/sessions/abc`;
    const session = await body(await call("PATCH", path, { version: 0, set: { a: 1 } }));
    const before = await manager(app).usage();
    testClock.now = T0 + 5;
    for (const changes of [
      { delete: ["nope"] },
      { set: { a: 1 } },
      { clear: true, set: { a: 1 } },
      {},
    ]) {
      const res = await call("PATCH", path, { version: 1, sid: session.sid, ...changes });
      expect(await body(res)).toEqual(session);
    }
    expect((await manager(app).usage()).rowsWritten).toBe(before.rowsWritten);
  });
});

describe("a settings change", () => {
  it("does not end a session sooner than the new timeout after its last access (HTTP)", async () => {
    const app = newApp();
    const path = `/v1/apps/${app}/sessions/abc`;
    testClock.now = T0 + 13; // in the 20 s slice that starts at T0
    expect((await call("PATCH", path, { version: 0, set: { a: 1 } })).status).toBe(200);
    const configured = await call("PUT", `/v1/apps/${app}`, { timeout: 2, period: 1 });
    expect(configured.status).toBe(200);
    testClock.now = T0 + 13.3;
    expect((await call("GET", path)).status).toBe(200);
    testClock.now = T0 + 13.3 + 1.99; // less than the new timeout after the last access
    expect((await call("GET", path)).status).toBe(200);
    // It does end: the last access lies before the end of its slice (T0 + 20), 2 s after that.
    testClock.now = T0 + 22;
    expect((await call("GET", path)).status).toBe(404);
  });

  it("does not end a session sooner than the new timeout after its last access (RPC)", async () => {
    const app = newApp();
    testClock.now = T0 + 19.5;
    unwrap(await service.commit(app, { key: "k", version: 0, set: { a: 1 } }));
    unwrap(await service.configure(app, { timeout: 3, period: 1 }));
    testClock.now = T0 + 19.5 + 2.9;
    expect(unwrap(await service.has(app, "k"))).toBe(true);
    testClock.now = T0 + 19.5 + 2.9 + 2.9; // touched at 22.4, in the 1 s slice that ends at 23
    expect(unwrap(await service.has(app, "k"))).toBe(true);
    testClock.now = T0 + 29; // last touched at 25.3 (slice end 26): 3 s after that, it ends
    expect(unwrap(await service.has(app, "k"))).toBe(false);
  });

  it("keeps reads at one write per period after the period is raised or lowered", async () => {
    const app = newApp();
    const stub = manager(app);
    unwrap(await stub.open(app, { timeout: 600, period: 20 }));
    unwrap(await stub.commit(app, { key: "k", version: 0, set: { a: 1 } }));
    // What one touch costs (its row and the index on the slice's end): a read in the next period.
    let before = (await stub.usage()).rowsWritten;
    testClock.now = T0 + 20;
    unwrap(await stub.has(app, "k"));
    const touch = (await stub.usage()).rowsWritten - before;
    expect(touch).toBeGreaterThan(0);
    const writesOver = async (from: number, to: number, step: number) => {
      before = (await stub.usage()).rowsWritten;
      for (let t = from; t < to; t += step) {
        testClock.now = T0 + t;
        expect(unwrap(await stub.has(app, "k"))).toBe(true);
      }
      return ((await stub.usage()).rowsWritten - before) / touch;
    };
    // Raised: the recorded end is T0 + 40. Reads from 25 to 170 s write once per 40 s period,
    // at 40, 80, 120 and 160 (periods start at multiples of the period; T0 is one of 40).
    unwrap(await stub.configure(app, { period: 40 }));
    expect(await writesOver(25, 175, 5)).toBe(4);
    // Lowered: the read at 160 recorded the end 200, so reads before it write nothing, and then
    // once per 10 s period (at 200 and 210).
    unwrap(await stub.configure(app, { period: 10 }));
    expect(await writesOver(175, 220, 1)).toBe(2);
  });
});

describe("a refused call", () => {
  it("writes nothing on a never-used app, not even the app: 413 (HTTP)", async () => {
    const app = newApp();
    // maxSessionBytes is 128 KiB by default; 200 KiB of data is refused.
    const res = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { big: "x".repeat(200 * 1024) },
    });
    expect(res.status).toBe(413);
    expect((await call("GET", `/v1/apps/${app}`)).status).toBe(404);
    expect((await manager(app).usage()).rowsWritten).toBe(0);
    expect(await storedRows(app)).toEqual({ apps: 0, sessions: 0 });
  });

  it("writes nothing on a never-used app, not even the app: 409 (HTTP)", async () => {
    const app = newApp();
    const res = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 1,
      sid: "gone",
      set: { a: 1 },
    });
    expect(res.status).toBe(409);
    expect(
      (await call("POST", `/v1/apps/${app}/sessions/abc/regenerate`, { newKey: "x" })).status,
    ).toBe(409);
    expect((await call("DELETE", `/v1/apps/${app}/sessions/abc`)).status).toBe(404);
    expect((await call("GET", `/v1/apps/${app}`)).status).toBe(404);
    expect((await manager(app).usage()).rowsWritten).toBe(0);
  });

  it("writes nothing on a never-used app, not even the app: 413 and 409 (RPC)", async () => {
    const app = newApp();
    const big = { key: "k", version: 0, set: { big: "x".repeat(200 * 1024) } };
    expect(errorOf(await service.commit(app, big))).toMatchObject({ status: 413 });
    const ended = { key: "k", version: 1, sid: "gone", set: { a: 1 } };
    expect(errorOf(await service.commit(app, ended))).toMatchObject({ status: 409 });
    expect(errorOf(await service.stats(app))).toMatchObject({ code: "app_not_found" });
    expect(await storedRows(app)).toEqual({ apps: 0, sessions: 0 });
  });

  it("stores the app with the first change that stores something, and then only", async () => {
    const app = newApp();
    unwrap(await service.get(app, "k"));
    expect(await storedRows(app)).toEqual({ apps: 0, sessions: 0 });
    unwrap(await service.commit(app, { key: "k", version: 0, set: { a: 1 } }));
    expect(await storedRows(app)).toEqual({ apps: 1, sessions: 1 });
    expect(unwrap(await service.stats(app)).settings.timeout).toBe(1200);
  });

  it("refuses a new shard count in an object made without a name, storing nothing", async () => {
    const app = newApp();
    const ns = env.SESSION_MANAGER;
    const stub = ns.get(ns.newUniqueId()) as unknown as SessionObjectRpc;
    unwrap(await stub.configure(app, { timeout: 600 }));
    expect(errorOf(await stub.configure(app, { shards: 2 }))).toMatchObject({
      code: "unnamed_object",
      status: 409,
    });
    expect(unwrap(await stub.stats(app)).settings).toMatchObject({ shards: 1, timeout: 600 });
  });

  it("binds an object to no app before it stores one", async () => {
    const app = newApp();
    const stub = manager(app);
    // A call naming another app, refused or not, leaves the object free for its own app.
    expect(unwrap(await stub.get("elsewhere", "k"))).toMatchObject({ isNew: true });
    unwrap(await stub.commit(app, { key: "k", version: 0, set: { a: 1 } }));
    expect(errorOf(await stub.get("elsewhere", "k"))).toMatchObject({ code: "wrong_app" });
  });
});

describe("a shard's object, called directly", () => {
  it("refuses a new key of another shard with wrong_shard, and moves nothing", async () => {
    const app = newApp();
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 4 })).status).toBe(200);
    expect(
      (await call("PATCH", `/v1/apps/${app}/sessions/old`, { version: 0, set: { a: 1 } })).status,
    ).toBe(200);
    const shard = shardOf("old", 4);
    const keys = Array.from({ length: 40 }, (_, i) => `new-${i}`);
    const elsewhere = keys.find((k) => shardOf(k, 4) !== shard) as string;
    const here = keys.find((k) => shardOf(k, 4) === shard) as string;
    const stub = env.SESSION_MANAGER.getByName(`${app}#${shard}`) as unknown as SessionObjectRpc;

    const refused = await stub.regenerate(app, "old", elsewhere);
    expect(errorOf(refused)).toMatchObject({ code: "wrong_shard", status: 409, app });
    expect(() => unwrap(refused)).toThrow(expect.objectContaining({ name: "WrongShardError" }));
    expect((await call("GET", `/v1/apps/${app}/sessions/old`)).status).toBe(200);
    expect((await call("GET", `/v1/apps/${app}/sessions/${elsewhere}`)).status).toBe(404);

    // A key of this very shard moves, and the router finds it there.
    expect(unwrap(await stub.regenerate(app, "old", here))).toMatchObject({ key: here });
    expect((await body(await call("GET", `/v1/apps/${app}/sessions/${here}`))).data).toEqual({
      a: 1,
    });
  });

  it("redirects any key on the home object of a sharded app, which holds no session", async () => {
    const app = newApp();
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 2 })).status).toBe(200);
    const home = manager(app);
    // The home object knows the app's layout: it redirects (421 moved, with the layout).
    const moved = { code: "moved", status: 421, layout: expect.objectContaining({ shards: 2 }) };
    expect(errorOf(await home.regenerate(app, "a", "b"))).toMatchObject(moved);
    const commit = await home.commit(app, { key: "a", version: 0, set: { n: 1 } });
    expect(errorOf(commit)).toMatchObject(moved);
    expect(errorOf(await home.get(app, "a"))).toMatchObject(moved);
    expect(unwrap(await home.stats(app)).sessions).toBe(0);
  });

  it("refuses a key of another shard, so no session lands where no router looks", async () => {
    const app = newApp();
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 4 })).status).toBe(200);
    const key = "user-1";
    const other = (shardOf(key, 4) + 1) % 4;
    const stub = env.SESSION_MANAGER.getByName(`${app}#${other}`) as unknown as SessionObjectRpc;
    unwrap(await stub.adopt(app, { shards: 4 }));
    const commit = await stub.commit(app, { key, version: 0, set: { n: 1 } });
    expect(errorOf(commit)).toMatchObject({ code: "wrong_shard", status: 409 });
    for (const result of [
      await stub.get(app, key),
      await stub.query(app, key),
      await stub.has(app, key),
      await stub.invalidate(app, key),
      resultOfText(await stub.getJson(app, key)),
      resultOfText(await stub.queryJson(app, key)),
      await stub
        .commitMany(app, [{ key, version: 0, set: { n: 1 } }])
        .then((r) => unwrap(r)[0] as Result<unknown>),
    ]) {
      expect(errorOf(result)).toMatchObject({ code: "wrong_shard" });
    }
    expect(unwrap(await stub.stats(app)).sessions).toBe(0);
  });
});

describe("one result shape across transports", () => {
  it("RPC answers a commit with what HTTP answers: the session with isNew and valid", async () => {
    const overHttp = await body(
      await call("PATCH", `/v1/apps/${newApp()}/sessions/k`, { version: 0, set: { a: 1 } }),
    );
    const overRpc = unwrap(await service.commit(newApp(), { key: "k", version: 0, set: { a: 1 } }));
    expect(Object.keys(overRpc)).toEqual(Object.keys(overHttp));
    expect({ ...overRpc, sid: "" }).toEqual({ ...overHttp, sid: "" });
    expect(overRpc).toMatchObject({ isNew: false, valid: true, version: 1 });
  });

  it("RPC and HTTP carry the same ConflictError details", async () => {
    const app = newApp();
    const path = `/v1/apps/${app}/sessions/k`;
    const first = await body(await call("PATCH", path, { version: 0, set: { a: 1 } }));
    await call("PATCH", path, { version: 1, sid: first.sid, set: { a: 2 } });
    const stale = { version: 1, sid: first.sid, set: { a: 3 } };
    const overHttp = await body(await call("PATCH", path, stale));
    const overRpc = errorOf(await service.commit(app, { key: "k", ...stale }));
    const { current, status, ...details } = overRpc ?? { current: null, status: 0 };
    expect(status).toBe(409);
    expect(details).toEqual(overHttp.error);
    expect(current).toEqual(overHttp.current);
  });
});
