// The SessionService entrypoint (docs/DESIGN.md#units-of-work): what another Worker reaches through a service binding
// with `entrypoint = "SessionService"`, each call forwarded to the Durable Object over RPC.
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  type CommitResult,
  isStored,
  type Result,
  type SessionManagerRpc,
  type SessionView,
  unwrap,
} from "../../src/index";
import { T0, testClock } from "./clock";

const NOW = T0;

beforeEach(() => {
  testClock.now = NOW;
});

// Called as another Worker calls it: over RPC to the `SessionService` entrypoint.
const service = exports.SessionService as unknown as SessionManagerRpc;

let apps = 0;
function newApp(): string {
  return `rpc-${++apps}`;
}

/** The session a commit stored (fails the test when it stored none). */
function stored(result: CommitResult): SessionView {
  if (!isStored(result)) throw new Error(`nothing stored for ${result.key}`);
  return result;
}

function errorOf(result: Result<unknown>) {
  expect(result.ok).toBe(false);
  return result.ok ? undefined : result.error;
}

describe("SessionService.open", () => {
  it("stores the settings of a new app, filling in defaults", async () => {
    const app = newApp();
    expect(unwrap(await service.open(app, { timeout: 60 }))).toEqual({
      timeout: 60,
      period: 20,
      maxSessionBytes: 131072,
      maxSessionsPerUser: 0,
      beginEvents: false,
      shards: 1,
    });
  });

  it("opens the app again with the same settings or none", async () => {
    const app = newApp();
    await service.open(app, { timeout: 60 });
    expect(unwrap(await service.open(app, { timeout: 60 })).timeout).toBe(60);
    expect(unwrap(await service.open(app)).timeout).toBe(60);
  });

  it("refuses different settings with settings_mismatch naming the setting", async () => {
    const app = newApp();
    await service.open(app, { timeout: 60 });
    expect(errorOf(await service.open(app, { timeout: 90 }))).toMatchObject({
      code: "settings_mismatch",
      status: 409,
      message: expect.stringContaining("timeout=60"),
    });
  });

  it("refuses invalid settings with invalid_settings", async () => {
    const result = await service.open(newApp(), { period: -1 });
    expect(errorOf(result)).toMatchObject({ code: "invalid_settings", status: 400 });
  });
});

describe("SessionService.configure", () => {
  it("changes the settings of an app on purpose", async () => {
    const app = newApp();
    await service.open(app, { timeout: 60 });
    expect(unwrap(await service.configure(app, { timeout: 90 })).timeout).toBe(90);
    expect(unwrap(await service.open(app, { timeout: 90 })).timeout).toBe(90);
  });

  it("refuses an unknown setting", async () => {
    const result = await service.configure(newApp(), { replicas: 2 } as never);
    expect(errorOf(result)).toMatchObject({ code: "invalid_settings", status: 400 });
  });
});

describe("SessionService.get, query and has", () => {
  it("hands out a new, empty session from get without storing it", async () => {
    const app = newApp();
    expect(unwrap(await service.get(app, "abc"))).toEqual({
      key: "abc",
      sid: null,
      version: 0,
      isNew: true,
      valid: true,
      created: NOW,
      lastModified: null,
      data: {},
    });
    expect(unwrap(await service.query(app, "abc"))).toBeNull();
    expect(unwrap(await service.has(app, "abc"))).toBe(false);
  });

  it("finds a committed session with get, query and has", async () => {
    const app = newApp();
    const session = unwrap(await service.commit(app, { key: "abc", version: 0, set: { a: 1 } }));
    expect(session).toMatchObject({ key: "abc", version: 1, data: { a: 1 } });
    expect(unwrap(await service.get(app, "abc"))).toEqual(session);
    expect(unwrap(await service.query(app, "abc"))).toEqual(session);
    expect(unwrap(await service.has(app, "abc"))).toBe(true);
  });
});

describe("SessionService.commit", () => {
  it("merges disjoint changes and refuses competing ones with a conflict carrying current", async () => {
    const app = newApp();
    const session = stored(
      unwrap(await service.commit(app, { key: "k", version: 0, set: { a: 1 } })),
    );
    const base = { key: "k", sid: session.sid, version: 1 };
    expect(stored(unwrap(await service.commit(app, { ...base, set: { b: 2 } }))).data).toEqual({
      a: 1,
      b: 2,
    });
    expect(stored(unwrap(await service.commit(app, { ...base, set: { a: 5 } }))).version).toBe(3);
    const conflict = errorOf(await service.commit(app, { ...base, set: { a: 6 } }));
    expect(conflict).toMatchObject({ code: "conflict", status: 409, keys: ["a"] });
    expect(conflict?.current?.data).toEqual({ a: 5, b: 2 });
  });

  it("throws the typed ConflictError when the caller unwraps a conflict", async () => {
    const app = newApp();
    await service.commit(app, { key: "k", version: 0, set: { a: 1 } });
    const result = await service.commit(app, { key: "k", version: 0, set: { a: 2 } });
    expect(() => unwrap(result)).toThrow(expect.objectContaining({ name: "ConflictError" }));
  });

  it("refuses session data over maxSessionBytes with session_too_large", async () => {
    const app = newApp();
    await service.configure(app, { maxSessionBytes: 10 });
    const result = await service.commit(app, { key: "k", version: 0, set: { a: "x".repeat(20) } });
    expect(errorOf(result)).toMatchObject({ code: "session_too_large", status: 413 });
    expect(unwrap(await service.has(app, "k"))).toBe(false);
  });

  it("answers { key, stored: false, valid } when the commit stores nothing, as HTTP does", async () => {
    const app = newApp();
    expect(unwrap(await service.commit(app, { key: "k", version: 0 }))).toEqual({
      key: "k",
      stored: false,
      valid: true,
    });
    expect(unwrap(await service.commit(app, { key: "k", version: 0, invalidate: true }))).toEqual({
      key: "k",
      stored: false,
      valid: false,
    });
  });

  it.each([
    ["without a key", { version: 0 }],
    ["with a bad key", { key: "a b", version: 0 }],
    ["without a version", { key: "k" }],
    ["that is not an object", "changes"],
  ])("refuses a changeset %s with a 400 error", async (_, changes) => {
    const error = errorOf(await service.commit(newApp(), changes));
    expect(error?.status).toBe(400);
    expect(["invalid_key", "invalid_changeset"]).toContain(error?.code);
  });
});

describe("SessionService.invalidate", () => {
  it("ends a live session and answers whether there was one", async () => {
    const app = newApp();
    await service.commit(app, { key: "k", version: 0, set: { a: 1 } });
    expect(unwrap(await service.invalidate(app, "k"))).toBe(true);
    expect(unwrap(await service.has(app, "k"))).toBe(false);
    expect(unwrap(await service.invalidate(app, "k"))).toBe(false);
  });
});

describe("SessionService.regenerate", () => {
  it("moves the live session to a new key with its data; the old key is gone", async () => {
    const app = newApp();
    const old = stored(
      unwrap(await service.commit(app, { key: "old", version: 0, set: { a: 1 } })),
    );
    const moved = unwrap(await service.regenerate(app, "old", "new"));
    expect(moved).toMatchObject({ key: "new", version: 1, data: { a: 1 } });
    expect(moved.sid).not.toBe(old.sid);
    expect(unwrap(await service.has(app, "old"))).toBe(false);
    expect(unwrap(await service.query(app, "new"))).toEqual(moved);
  });

  it("refuses a session that is not live with session_ended", async () => {
    const error = errorOf(await service.regenerate(newApp(), "nobody", "new"));
    expect(error).toMatchObject({ code: "session_ended", status: 409 });
  });
});

describe("SessionService.stats", () => {
  it("reports the app's settings and stored sessions", async () => {
    const app = newApp();
    await service.open(app, { period: 10 });
    await service.commit(app, { key: "a", version: 0, set: { n: 1 } });
    expect(unwrap(await service.stats(app))).toMatchObject({
      app,
      settings: { period: 10 },
      sessions: 1,
    });
  });
});

describe("SessionService argument checks", () => {
  it.each<[string, (name: string) => Promise<Result<unknown>>]>([
    ["open", (app: string) => service.open(app)],
    ["configure", (app: string) => service.configure(app, {})],
    ["get", (app: string) => service.get(app, "k")],
    ["query", (app: string) => service.query(app, "k")],
    ["has", (app: string) => service.has(app, "k")],
    ["commit", (app: string) => service.commit(app, { key: "k", version: 0, set: { a: 1 } })],
    ["invalidate", (app: string) => service.invalidate(app, "k")],
    ["stats", (app: string) => service.stats(app)],
    ["regenerate", (app: string) => service.regenerate(app, "k", "k2")],
  ])("%s refuses a bad app name with invalid_key", async (_, method) => {
    expect(errorOf(await method("Not An App"))).toMatchObject({ code: "invalid_key", status: 400 });
  });

  it.each<[string, (name: string) => Promise<Result<unknown>>]>([
    ["get", (key: string) => service.get("rpc-keys", key)],
    ["query", (key: string) => service.query("rpc-keys", key)],
    ["has", (key: string) => service.has("rpc-keys", key)],
    ["invalidate", (key: string) => service.invalidate("rpc-keys", key)],
    ["regenerate (old key)", (key: string) => service.regenerate("rpc-keys", key, "k2")],
    ["regenerate (new key)", (key: string) => service.regenerate("rpc-keys", "k1", key)],
  ])("%s refuses a bad session key with invalid_key", async (_, method) => {
    for (const key of ["", "a/b", "k".repeat(257), 42 as unknown as string]) {
      expect(errorOf(await method(key))).toMatchObject({ code: "invalid_key", status: 400 });
    }
  });
});
