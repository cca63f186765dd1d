import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { SessionSnapshot } from "../../src/core/session-view";
import {
  type Changeset,
  isStored,
  type JsonObject,
  objectName,
  type SessionManagerRpc,
  unwrap,
} from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";

function manager(app: string): SessionManagerRpc {
  return env.SESSION_MANAGER.getByName(objectName(app)) as unknown as SessionManagerRpc;
}

async function create(
  app: string,
  key: string,
  data: JsonObject = { n: 1 },
): Promise<SessionSnapshot> {
  const stub = manager(app);
  const snapshot: SessionSnapshot = unwrap(await stub.get(app, key));
  const changes: Changeset = { key, sid: snapshot.sid, version: snapshot.version, set: data };
  const stored = unwrap(await stub.commit(app, changes));
  if (!isStored(stored)) throw new Error("nothing stored");
  return stored;
}

async function rowsWritten(app: string): Promise<number> {
  return unwrap(await manager(app).stats(app)).usage.rowsWritten;
}

beforeEach(() => {
  testClock.now = T0;
});

describe("SessionManagerObject over RPC", () => {
  it("get returns a new, unstored session for an unknown key", async () => {
    const result = unwrap(await manager("rpc-get").get("rpc-get", "k"));
    expect(result).toEqual({
      key: "k",
      sid: null,
      version: 0,
      isNew: true,
      valid: true,
      created: T0,
      lastModified: null,
      data: {},
    });
    expect(unwrap(await manager("rpc-get").query("rpc-get", "k"))).toBeNull();
    expect(unwrap(await manager("rpc-get").has("rpc-get", "k"))).toBe(false);
    // Reads store nothing, not even the app.
    expect(await manager("rpc-get").stats("rpc-get")).toMatchObject({
      ok: false,
      error: { code: "app_not_found" },
    });
  });

  it("commit stores a new session, and query and has then find it", async () => {
    const stored = await create("rpc-commit", "k", { name: "fred" });
    expect(stored).toMatchObject({
      key: "k",
      version: 1,
      created: T0,
      lastModified: T0,
      data: { name: "fred" },
    });
    expect(stored.sid).toEqual(expect.any(String));
    const found = unwrap(await manager("rpc-commit").query("rpc-commit", "k"));
    expect(found).toEqual(stored);
    expect(unwrap(await manager("rpc-commit").has("rpc-commit", "k"))).toBe(true);
  });

  it("refuses a competing commit with the current session and writes nothing", async () => {
    const app = "rpc-conflict";
    const stub = manager(app);
    const base = await create(app, "k", { x: 0 });
    const first = await stub.commit(app, { key: "k", sid: base.sid, version: 1, set: { x: 1 } });
    expect(first.ok).toBe(true);
    const before = await rowsWritten(app);
    const second = await stub.commit(app, { key: "k", sid: base.sid, version: 1, set: { x: 2 } });
    expect(second).toMatchObject({
      ok: false,
      error: {
        code: "conflict",
        status: 409,
        keys: ["x"],
        current: { version: 2, data: { x: 1 } },
      },
    });
    expect(await rowsWritten(app)).toBe(before);
  });

  it("refuses a commit to an ended session", async () => {
    const app = "rpc-ended";
    const stub = manager(app);
    const base = await create(app, "k");
    expect(unwrap(await stub.invalidate(app, "k"))).toBe(true);
    expect(unwrap(await stub.invalidate(app, "k"))).toBe(false);
    const late = await stub.commit(app, { key: "k", sid: base.sid, version: 1, set: { x: 2 } });
    expect(late).toMatchObject({ ok: false, error: { code: "session_ended", status: 409 } });
  });

  it("refuses bad input with typed errors", async () => {
    const stub = manager("rpc-bad");
    expect(await stub.get("rpc-bad", "no spaces")).toMatchObject({
      ok: false,
      error: { code: "invalid_key", status: 400 },
    });
    expect(await stub.get("Bad App", "k")).toMatchObject({
      ok: false,
      error: { code: "invalid_key" },
    });
    expect(await stub.commit("rpc-bad", { key: "k", version: -1 })).toMatchObject({
      ok: false,
      error: { code: "invalid_changeset", status: 400 },
    });
    expect(await stub.commit("rpc-bad", null)).toMatchObject({ ok: false, error: { status: 400 } });
    expect(
      await stub.commit("rpc-bad", { key: "k", version: 0, set: { x: Number.NaN } }),
    ).toMatchObject({
      ok: false,
      error: { code: "invalid_changeset" },
    });
    // Nothing was written by the refused calls, not even the app's settings.
    expect(await stub.stats("rpc-bad")).toMatchObject({
      ok: false,
      error: { code: "app_not_found" },
    });
    unwrap(await stub.open("rpc-bad"));
    expect(await manager("rpc-bad").get("another-app", "k")).toMatchObject({
      ok: false,
      error: { code: "wrong_app" },
    });
  });

  it("refuses a session over maxSessionBytes with 413", async () => {
    const app = "rpc-size";
    const stub = manager(app);
    unwrap(await stub.configure(app, { maxSessionBytes: 64 }));
    const result = await stub.commit(app, {
      key: "k",
      sid: null,
      version: 0,
      set: { big: "x".repeat(100) },
    });
    expect(result).toMatchObject({ ok: false, error: { code: "session_too_large", status: 413 } });
    expect(unwrap(await stub.stats(app)).sessions).toBe(0);
  });
});

describe("app settings", () => {
  it("stores the settings on first use and refuses different ones, naming the setting", async () => {
    const app = "settings-app";
    const stub = manager(app);
    expect(unwrap(await stub.open(app, { timeout: 600 }))).toEqual({
      timeout: 600,
      period: 20,
      maxSessionBytes: 131072,
      maxSessionsPerUser: 0,
      beginEvents: false,
      shards: 1,
    });
    expect((await stub.open(app, { timeout: 600 })).ok).toBe(true);
    expect((await stub.open(app)).ok).toBe(true);
    const mismatch = await stub.open(app, { timeout: 600, period: 5 });
    expect(mismatch).toMatchObject({
      ok: false,
      error: { code: "settings_mismatch", status: 409 },
    });
    expect(mismatch.ok === false && mismatch.error.message).toMatch(/period/);
  });

  it("changes settings on purpose with configure, and validates them", async () => {
    const app = "settings-configure";
    const stub = manager(app);
    unwrap(await stub.open(app, { timeout: 600 }));
    expect(unwrap(await stub.configure(app, { period: 5 }))).toMatchObject({
      timeout: 600,
      period: 5,
    });
    expect(await stub.configure(app, { period: 0 })).toMatchObject({
      ok: false,
      error: { code: "invalid_settings" },
    });
    expect(await stub.configure(app, { color: "red" } as never)).toMatchObject({
      ok: false,
      error: { code: "invalid_settings" },
    });
    expect(unwrap(await stub.stats(app)).settings.period).toBe(5);
  });

  it("keeps settings and sessions across eviction", async () => {
    const app = "settings-evict";
    const stub = manager(app);
    unwrap(await stub.configure(app, { timeout: 77 }));
    await create(app, "k", { a: 1 });
    await evictDurableObject(env.SESSION_MANAGER.getByName(objectName(app)));
    const again = manager(app);
    expect(unwrap(await again.stats(app)).settings.timeout).toBe(77);
    expect(unwrap(await again.query(app, "k"))?.data).toEqual({ a: 1 });
  });
});

describe("storage cost", () => {
  it("a read of a live session within its period writes 0 rows", async () => {
    const app = "cost-read";
    const stub = manager(app);
    await create(app, "k");
    const before = await rowsWritten(app);
    testClock.now = T0 + 5; // same 20 s period
    unwrap(await stub.get(app, "k"));
    unwrap(await stub.query(app, "k"));
    unwrap(await stub.has(app, "k"));
    expect(await rowsWritten(app)).toBe(before);
  });

  it("the first read in a new period writes the touch, once", async () => {
    const app = "cost-touch";
    const stub = manager(app);
    await create(app, "k");
    const before = await rowsWritten(app);
    testClock.now = T0 + 25; // next period
    unwrap(await stub.get(app, "k"));
    const afterTouch = await rowsWritten(app);
    expect(afterTouch).toBeGreaterThan(before);
    unwrap(await stub.get(app, "k"));
    unwrap(await stub.has(app, "k"));
    expect(await rowsWritten(app)).toBe(afterTouch);
  });

  it("a get of a new session that nobody modifies writes nothing", async () => {
    const app = "cost-lazy";
    const stub = manager(app);
    unwrap(await stub.open(app));
    const before = await rowsWritten(app);
    unwrap(await stub.get(app, "nobody"));
    expect(await rowsWritten(app)).toBe(before);
  });
});
