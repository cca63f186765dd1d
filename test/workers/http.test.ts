// The HTTP API route by route (README "HTTP API"; docs/DESIGN.md#access-and-touch, #commit-and-merge, #settings, #errors), through the worker's
// fetch handler, with the Durable Object behind it.
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { T0, testClock } from "./clock";
import { call } from "./helpers";

const NOW = T0;

beforeEach(() => {
  testClock.now = NOW;
});

let apps = 0;
/** A fresh app per test: storage is shared by the tests of a file. */
function newApp(): string {
  return `http-${++apps}`;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
async function body(res: Response): Promise<any> {
  return res.json();
}

/** Stores `data` in a new session `key` of `app`; returns the stored session. */
async function stored(app: string, key: string, data: Record<string, unknown>) {
  const res = await call("PATCH", `/v1/apps/${app}/sessions/${key}`, { version: 0, set: data });
  expect(res.status).toBe(200);
  return body(res);
}

describe("POST /v1/apps/:app/sessions/:key (get)", () => {
  it("answers a new, empty session and stores nothing", async () => {
    const app = newApp();
    const res = await call("POST", `/v1/apps/${app}/sessions/abc`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await body(res)).toEqual({
      key: "abc",
      sid: null,
      version: 0,
      isNew: true,
      valid: true,
      created: NOW,
      lastModified: null,
      data: {},
    });

    const query = await call("GET", `/v1/apps/${app}/sessions/abc`);
    expect(query.status).toBe(404);
    expect((await body(query)).error.code).toBe("not_found");
    // Not even the app: it is stored with its first change.
    const stats = await call("GET", `/v1/apps/${app}`);
    expect(stats.status).toBe(404);
    expect((await body(stats)).error.code).toBe("app_not_found");
  });

  it("answers the stored session once one was committed", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { cart: [1, 2] });
    const res = await call("POST", `/v1/apps/${app}/sessions/abc`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual(session);
  });
});

describe("GET /v1/apps/:app/sessions/:key (query)", () => {
  it("answers the live session with its data", async () => {
    const app = newApp();
    await stored(app, "abc", { first_name: "fred" });
    const res = await call("GET", `/v1/apps/${app}/sessions/abc`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({
      key: "abc",
      sid: expect.any(String),
      version: 1,
      isNew: false,
      valid: true,
      created: NOW,
      lastModified: NOW,
      data: { first_name: "fred" },
    });
  });

  it("answers 404 not_found for a session that was never stored", async () => {
    const res = await call("GET", `/v1/apps/${newApp()}/sessions/nobody`);
    expect(res.status).toBe(404);
    expect(await body(res)).toEqual({
      error: { code: "not_found", message: expect.stringContaining('"nobody"') },
    });
  });

  it("answers 404 once the session has expired", async () => {
    const app = newApp();
    await stored(app, "abc", { a: 1 });
    testClock.now = NOW + 1200 + 40;
    try {
      expect((await call("GET", `/v1/apps/${app}/sessions/abc`)).status).toBe(404);
    } finally {
      testClock.now = NOW;
    }
  });
});

describe("HEAD /v1/apps/:app/sessions/:key (has)", () => {
  it("answers 200 with an empty body for a live session", async () => {
    const app = newApp();
    await stored(app, "abc", { a: 1 });
    const res = await call("HEAD", `/v1/apps/${app}/sessions/abc`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("answers 404 with an empty body when there is no live session", async () => {
    const res = await call("HEAD", `/v1/apps/${newApp()}/sessions/abc`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("");
  });
});

describe("PATCH /v1/apps/:app/sessions/:key (commit)", () => {
  it("creates the session from version 0, and GET then returns its data", async () => {
    const app = newApp();
    const res = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { first_name: "fred" },
    });
    expect(res.status).toBe(200);
    const session = await body(res);
    expect(session).toEqual({
      key: "abc",
      sid: expect.any(String),
      version: 1,
      isNew: false,
      valid: true,
      created: NOW,
      lastModified: NOW,
      data: { first_name: "fred" },
    });
    expect(await body(await call("GET", `/v1/apps/${app}/sessions/abc`))).toEqual(session);
  });

  it("adds one to the version with every stored change", async () => {
    const app = newApp();
    let session = await stored(app, "abc", { n: 0 });
    for (const n of [1, 2, 3]) {
      const res = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
        version: session.version,
        sid: session.sid,
        set: { n },
      });
      session = await body(res);
      expect(session.version).toBe(n + 1);
      expect(session.data).toEqual({ n });
    }
  });

  it("applies clear, then delete, then set", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { a: 1, b: 2, c: 3 });
    const deleted = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 1,
      sid: session.sid,
      delete: ["a"],
      set: { d: 4 },
    });
    expect((await body(deleted)).data).toEqual({ b: 2, c: 3, d: 4 });
    const cleared = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 2,
      sid: session.sid,
      clear: true,
      set: { e: 5 },
    });
    expect((await body(cleared)).data).toEqual({ e: 5 });
  });

  it("refuses a competing change from the same version with 409 and the current session", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { color: "red" });
    const path = `/v1/apps/${app}/sessions/abc`;
    const first = await call("PATCH", path, {
      version: 1,
      sid: session.sid,
      set: { color: "blue" },
    });
    expect(first.status).toBe(200);
    const second = await call("PATCH", path, {
      version: 1,
      sid: session.sid,
      set: { color: "green" },
    });
    expect(second.status).toBe(409);
    const conflict = await body(second);
    expect(conflict.error).toEqual({
      code: "conflict",
      message: expect.stringContaining("Get the session again"),
      key: "abc",
      keys: ["color"],
    });
    expect(conflict.current).toMatchObject({ key: "abc", version: 2, data: { color: "blue" } });
    expect((await body(await call("GET", path))).data).toEqual({ color: "blue" });
  });

  it("merges disjoint changes from the same version: both 200", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { a: 1 });
    const path = `/v1/apps/${app}/sessions/abc`;
    const first = await call("PATCH", path, { version: 1, sid: session.sid, set: { b: 2 } });
    const second = await call("PATCH", path, { version: 1, sid: session.sid, set: { c: 3 } });
    expect([first.status, second.status]).toEqual([200, 200]);
    const merged = await body(second);
    expect(merged.version).toBe(3);
    expect(merged.data).toEqual({ a: 1, b: 2, c: 3 });
  });

  it("refuses the same value written twice from one version: two increments, one would be lost", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { step: 1 });
    const path = `/v1/apps/${app}/sessions/abc`;
    const change = { version: 1, sid: session.sid, set: { step: 2 } };
    expect((await call("PATCH", path, change)).status).toBe(200);
    const again = await call("PATCH", path, change);
    expect(again.status).toBe(409);
    expect((await body(again)).error).toMatchObject({ code: "conflict", keys: ["step"] });
  });

  it("refuses a commit to an invalidated session with 409 session_ended", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { a: 1 });
    const path = `/v1/apps/${app}/sessions/abc`;
    expect((await call("DELETE", path)).status).toBe(204);
    const res = await call("PATCH", path, { version: 1, sid: session.sid, set: { a: 2 } });
    expect(res.status).toBe(409);
    expect(await body(res)).toEqual({
      error: {
        code: "session_ended",
        message: expect.stringContaining("ended"),
        key: "abc",
        keys: [],
      },
      current: null,
    });
  });

  it("refuses a commit to a replaced session (another sid) with 409 session_ended", async () => {
    const app = newApp();
    const old = await stored(app, "abc", { a: 1 });
    const path = `/v1/apps/${app}/sessions/abc`;
    await call("DELETE", path);
    const replacement = await stored(app, "abc", { b: 1 });
    const res = await call("PATCH", path, { version: 1, sid: old.sid, set: { a: 2 } });
    expect(res.status).toBe(409);
    const conflict = await body(res);
    expect(conflict.error.code).toBe("session_ended");
    expect(conflict.current).toEqual(replacement);
  });

  it("answers { key, stored: false, valid: false } when the commit invalidates the session", async () => {
    const app = newApp();
    const session = await stored(app, "abc", { a: 1 });
    const path = `/v1/apps/${app}/sessions/abc`;
    const res = await call("PATCH", path, { version: 1, sid: session.sid, invalidate: true });
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ key: "abc", stored: false, valid: false });
    expect((await call("GET", path)).status).toBe(404);
  });

  it("answers { key, stored: false, valid: true } for a new session committed without changes", async () => {
    const app = newApp();
    const path = `/v1/apps/${app}/sessions/abc`;
    const res = await call("PATCH", path, { version: 0 });
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ key: "abc", stored: false, valid: true });
    expect((await call("GET", path)).status).toBe(404);
  });

  it("refuses session data over the app's maxSessionBytes with 413 and stores nothing", async () => {
    const app = newApp();
    expect((await call("PUT", `/v1/apps/${app}`, { maxSessionBytes: 100 })).status).toBe(200);
    const path = `/v1/apps/${app}/sessions/abc`;
    const res = await call("PATCH", path, { version: 0, set: { big: "x".repeat(200) } });
    expect(res.status).toBe(413);
    expect(await body(res)).toEqual({
      error: {
        code: "session_too_large",
        message: expect.stringContaining("maxSessionBytes"),
        app,
        key: "abc",
        bytes: 210,
        limit: 100,
      },
    });
    expect((await call("GET", path)).status).toBe(404);
  });

  it.each([
    ["no version", { set: { a: 1 } }],
    ["a negative version", { version: -1 }],
    ["an unknown field", { version: 0, colour: "red" }],
    ["set that is not an object", { version: 0, set: [1, 2] }],
    ["delete that is not a list of keys", { version: 0, delete: "a" }],
    ["a key both set and deleted", { version: 0, set: { a: 1 }, delete: ["a"] }],
    ["clear that is not a boolean", { version: 0, clear: "yes" }],
    ["lastModified that is not a time", { version: 0, lastModified: "now" }],
    ["another session's key", { key: "other", version: 0, set: { a: 1 } }],
    ["an array instead of an object", [{ version: 0 }]],
    ["null", null],
  ])("refuses a changeset with %s: 400 invalid_changeset, nothing stored", async (_, changes) => {
    const app = newApp();
    const path = `/v1/apps/${app}/sessions/abc`;
    const res = await call("PATCH", path, changes);
    expect(res.status).toBe(400);
    const error = (await body(res)).error;
    expect(error.code).toBe("invalid_changeset");
    expect(error.message).toMatch(/^Invalid changeset: /);
    expect((await call("GET", path)).status).toBe(404);
  });

  it("refuses values nested deeper than JSON sessions allow with 400", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const res = await call("PATCH", `/v1/apps/${newApp()}/sessions/abc`, {
      version: 0,
      set: { deep },
    });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_changeset");
  });
});

describe("DELETE /v1/apps/:app/sessions/:key (invalidate)", () => {
  it("ends the live session: 204 with no body, then 404", async () => {
    const app = newApp();
    await stored(app, "abc", { a: 1 });
    const path = `/v1/apps/${app}/sessions/abc`;
    const res = await call("DELETE", path);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await call("GET", path)).status).toBe(404);
    const again = await call("DELETE", path);
    expect(again.status).toBe(404);
    expect((await body(again)).error.code).toBe("not_found");
  });

  it("lets the next get start a new, empty session", async () => {
    const app = newApp();
    const old = await stored(app, "abc", { a: 1 });
    await call("DELETE", `/v1/apps/${app}/sessions/abc`);
    const fresh = await body(await call("POST", `/v1/apps/${app}/sessions/abc`));
    expect(fresh).toMatchObject({ sid: null, version: 0, isNew: true, data: {} });
    expect(fresh.sid).not.toBe(old.sid);
  });
});

describe("POST /v1/apps/:app/sessions/:key/regenerate", () => {
  it("moves the live session to newKey with its data; the old key answers 404", async () => {
    const app = newApp();
    const old = await stored(app, "old-key", { user: "fred" });
    const res = await call("POST", `/v1/apps/${app}/sessions/old-key/regenerate`, {
      newKey: "new-key",
    });
    expect(res.status).toBe(200);
    const moved = await body(res);
    expect(moved).toEqual({
      key: "new-key",
      sid: expect.any(String),
      version: 1,
      isNew: false,
      valid: true,
      created: NOW,
      lastModified: NOW,
      data: { user: "fred" },
    });
    expect(moved.sid).not.toBe(old.sid);
    expect((await call("GET", `/v1/apps/${app}/sessions/old-key`)).status).toBe(404);
    expect(await body(await call("GET", `/v1/apps/${app}/sessions/new-key`))).toEqual(moved);
  });

  it("answers 409 session_ended when there is no live session to move", async () => {
    const res = await call("POST", `/v1/apps/${newApp()}/sessions/gone/regenerate`, {
      newKey: "new-key",
    });
    expect(res.status).toBe(409);
    expect((await body(res)).error.code).toBe("session_ended");
  });

  it("answers 409 key_taken when newKey holds a live session", async () => {
    const app = newApp();
    await stored(app, "a", { n: 1 });
    await stored(app, "b", { n: 2 });
    const res = await call("POST", `/v1/apps/${app}/sessions/a/regenerate`, { newKey: "b" });
    expect(res.status).toBe(409);
    expect((await body(res)).error.code).toBe("key_taken");
    expect((await body(await call("GET", `/v1/apps/${app}/sessions/a`))).data).toEqual({ n: 1 });
  });

  it.each([
    ["no newKey", {}],
    ["an unknown field", { newKey: "b", keep: true }],
    ["a list", ["b"]],
  ])("refuses a body with %s: 400 invalid_input", async (_, request) => {
    const app = newApp();
    await stored(app, "a", { n: 1 });
    const res = await call("POST", `/v1/apps/${app}/sessions/a/regenerate`, request);
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_input");
  });

  it("refuses a bad newKey: 400 invalid_key", async () => {
    const app = newApp();
    await stored(app, "a", { n: 1 });
    const res = await call("POST", `/v1/apps/${app}/sessions/a/regenerate`, { newKey: "a/b" });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_key");
  });
});

describe("POST /v1/apps/:app (open)", () => {
  it("stores the given settings with a new app, defaults for the rest", async () => {
    const app = newApp();
    const res = await call("POST", `/v1/apps/${app}`, { timeout: 600 });
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({
      app,
      settings: {
        timeout: 600,
        period: 20,
        maxSessionBytes: 131072,
        maxSessionsPerUser: 0,
        beginEvents: false,
        shards: 1,
      },
    });
  });

  it("opens the app again with the same settings, some of them, or no body at all", async () => {
    const app = newApp();
    await call("POST", `/v1/apps/${app}`, { timeout: 600, period: 10 });
    for (const settings of [{ timeout: 600, period: 10 }, { period: 10 }, {}, undefined]) {
      const res = await call("POST", `/v1/apps/${app}`, settings);
      expect(res.status).toBe(200);
      expect((await body(res)).settings).toMatchObject({ timeout: 600, period: 10 });
    }
  });

  it("refuses settings that differ from the stored ones with 409 settings_mismatch", async () => {
    const app = newApp();
    await call("POST", `/v1/apps/${app}`, { timeout: 600 });
    const res = await call("POST", `/v1/apps/${app}`, { timeout: 900 });
    expect(res.status).toBe(409);
    expect(await body(res)).toEqual({
      error: {
        code: "settings_mismatch",
        message: expect.stringContaining("timeout=600"),
        app,
        setting: "timeout",
      },
    });
    expect((await body(await call("GET", `/v1/apps/${app}`))).settings.timeout).toBe(600);
  });
});

describe("GET and PUT /v1/apps/:app (settings and stats)", () => {
  it("answers 404 app_not_found for an app never used, and creates nothing", async () => {
    const app = newApp();
    const res = await call("GET", `/v1/apps/${app}`);
    expect(res.status).toBe(404);
    expect((await body(res)).error.code).toBe("app_not_found");
    const open = await call("POST", `/v1/apps/${app}`, { timeout: 99 });
    expect(open.status).toBe(200);
  });

  it("answers the default settings and the stats of an app", async () => {
    const app = newApp();
    await stored(app, "a", { n: 1 });
    await stored(app, "b", { n: 2 });
    const res = await call("GET", `/v1/apps/${app}`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({
      app,
      settings: {
        timeout: 1200,
        period: 20,
        maxSessionBytes: 131072,
        maxSessionsPerUser: 0,
        beginEvents: false,
        shards: 1,
      },
      sessions: 2,
      nextSweep: expect.any(Number),
      pendingEvents: expect.any(Number),
      usage: { rowsRead: expect.any(Number), rowsWritten: expect.any(Number) },
      layout: { epoch: 1, shards: 1, from: null, placement: {} },
      moved: { out: 0, in: 0 },
    });
  });

  it("creates an app with the given settings, defaults for the rest", async () => {
    const app = newApp();
    const res = await call("PUT", `/v1/apps/${app}`, { timeout: 60, period: 5 });
    expect(res.status).toBe(200);
    const settings = {
      timeout: 60,
      period: 5,
      maxSessionBytes: 131072,
      maxSessionsPerUser: 0,
      beginEvents: false,
      shards: 1,
    };
    expect(await body(res)).toEqual({ app, settings });
    expect((await body(await call("GET", `/v1/apps/${app}`))).settings).toEqual(settings);
  });

  it("reconfigures an app, keeping the settings not given", async () => {
    const app = newApp();
    await call("PUT", `/v1/apps/${app}`, { timeout: 60 });
    const res = await call("PUT", `/v1/apps/${app}`, { beginEvents: true, maxSessionBytes: 1024 });
    expect((await body(res)).settings).toEqual({
      timeout: 60,
      period: 20,
      maxSessionBytes: 1024,
      maxSessionsPerUser: 0,
      beginEvents: true,
      shards: 1,
    });
  });

  it.each([
    ["a timeout of 0", { timeout: 0 }],
    ["a negative period", { period: -5 }],
    ["a timeout that is a string", { timeout: "60" }],
    ["maxSessionBytes over 1 MiB", { maxSessionBytes: 2 * 1024 * 1024 }],
    ["maxSessionBytes that is not an integer", { maxSessionBytes: 1.5 }],
    ["beginEvents that is not a boolean", { beginEvents: "yes" }],
    ["an unknown setting", { replicas: 4 }],
    ["an array", [60]],
  ])("refuses settings with %s: 400 invalid_settings, nothing changed", async (_, settings) => {
    const app = newApp();
    await call("PUT", `/v1/apps/${app}`, { timeout: 60 });
    const res = await call("PUT", `/v1/apps/${app}`, settings);
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_settings");
    expect((await body(await call("GET", `/v1/apps/${app}`))).settings.timeout).toBe(60);
  });
});

describe("GET /healthz", () => {
  it("answers without a token", async () => {
    const res = await exports.default.fetch("https://sessions.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
