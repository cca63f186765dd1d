// Conditional requests (README "HTTP API", "ETags"): strong ETags on session answers, If-Match on
// PATCH and DELETE (412 precondition_failed, nothing written), If-None-Match on GET (304).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { testClock } from "./clock";
import { call } from "./helpers";

const NOW = testClock.now;

let apps = 0;
function newApp(): string {
  return `conditional-${++apps}`;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
async function body(res: Response): Promise<any> {
  return res.json();
}

/** A request with the test token and the given headers (and JSON body). */
function send(method: string, path: string, headers: Record<string, string>, json?: unknown) {
  const all: Record<string, string> = { Authorization: "Bearer test-token", ...headers };
  if (json !== undefined) all["Content-Type"] = "application/json";
  return exports.default.fetch(
    new Request(`https://sessions.test${path}`, {
      method,
      headers: all,
      body: json === undefined ? undefined : JSON.stringify(json),
    }),
  );
}

/** Stores a new session; returns its path, the stored session and its ETag. */
async function stored(data: Record<string, unknown>) {
  const path = `/v1/apps/${newApp()}/sessions/abc`;
  const res = await call("PATCH", path, { version: 0, set: data });
  expect(res.status).toBe(200);
  return { path, session: await body(res), etag: res.headers.get("ETag") as string };
}

describe("ETags", () => {
  it("names the session's sid and version, and changes with every stored change", async () => {
    const { path, session, etag } = await stored({ n: 1 });
    expect(etag).toBe(`"${session.sid}:1"`);
    const read = await call("GET", path);
    expect(read.headers.get("ETag")).toBe(etag);
    const changed = await call("PATCH", path, { version: 1, sid: session.sid, set: { n: 2 } });
    expect(changed.headers.get("ETag")).toBe(`"${session.sid}:2"`);
  });

  it("is sent by get for a stored session, not for a new one that is not stored yet", async () => {
    const app = newApp();
    const fresh = await call("POST", `/v1/apps/${app}/sessions/abc`);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("ETag")).toBeNull();
    const { path, etag } = await stored({ n: 1 });
    expect((await call("POST", path)).headers.get("ETag")).toBe(etag);
  });

  it("differs for a new session at the same key after the old one ended", async () => {
    const { path, etag } = await stored({ n: 1 });
    await call("DELETE", path);
    const again = await call("PATCH", path, { version: 0, set: { n: 1 } });
    expect(again.headers.get("ETag")).toMatch(/^"[^"]+:1"$/);
    expect(again.headers.get("ETag")).not.toBe(etag);
  });

  it("is sent for the session at its new key after regenerate", async () => {
    const { path } = await stored({ n: 1 });
    const res = await call("POST", `${path}/regenerate`, { newKey: "moved" });
    const moved = await body(res);
    expect(res.headers.get("ETag")).toBe(`"${moved.sid}:1"`);
  });
});

describe("GET with If-None-Match", () => {
  it("answers 304 without a body when it names the current ETag", async () => {
    const { path, etag } = await stored({ n: 1 });
    const res = await send("GET", path, { "If-None-Match": etag });
    expect(res.status).toBe(304);
    expect(res.headers.get("ETag")).toBe(etag);
    expect(await res.text()).toBe("");
  });

  it.each([
    ["a list that holds it", (etag: string) => `"other:1", ${etag}`],
    ["its weak form", (etag: string) => `W/${etag}`],
    ["*", () => "*"],
  ])("answers 304 for %s", async (_, header) => {
    const { path, etag } = await stored({ n: 1 });
    expect((await send("GET", path, { "If-None-Match": header(etag) })).status).toBe(304);
  });

  it("answers 200 with the session when the session changed since", async () => {
    const { path, session, etag } = await stored({ n: 1 });
    await call("PATCH", path, { version: 1, sid: session.sid, set: { n: 2 } });
    const res = await send("GET", path, { "If-None-Match": etag });
    expect(res.status).toBe(200);
    expect((await body(res)).data).toEqual({ n: 2 });
    expect(res.headers.get("ETag")).toBe(`"${session.sid}:2"`);
  });

  it("answers 404 when there is no live session", async () => {
    const { path, etag } = await stored({ n: 1 });
    await call("DELETE", path);
    expect((await send("GET", path, { "If-None-Match": etag })).status).toBe(404);
  });

  it("still counts as an access: a session read only by 304s does not expire", async () => {
    const { path, etag } = await stored({ n: 1 });
    try {
      // Timeout 1200 s: each 304 restarts the idle time, so 2000 s later the session lives.
      testClock.now = NOW + 1000;
      expect((await send("GET", path, { "If-None-Match": etag })).status).toBe(304);
      testClock.now = NOW + 2000;
      expect((await send("GET", path, { "If-None-Match": etag })).status).toBe(304);
      testClock.now = NOW + 4000;
      expect((await call("GET", path)).status).toBe(404);
    } finally {
      testClock.now = NOW;
    }
  });
});

describe("PATCH with If-Match", () => {
  it("commits to exactly that version, without version and sid in the body", async () => {
    const { path, session, etag } = await stored({ n: 1 });
    const res = await send("PATCH", path, { "If-Match": etag }, { set: { n: 2 } });
    expect(res.status).toBe(200);
    expect(await body(res)).toMatchObject({ sid: session.sid, version: 2, data: { n: 2 } });
    expect(res.headers.get("ETag")).toBe(`"${session.sid}:2"`);
  });

  it("accepts the same version and sid in the body too", async () => {
    const { path, session, etag } = await stored({ n: 1 });
    const change = { version: 1, sid: session.sid, set: { n: 2 } };
    expect((await send("PATCH", path, { "If-Match": etag }, change)).status).toBe(200);
  });

  it("refuses a stale ETag with 412 and the current session, even where a merge would succeed, and writes nothing", async () => {
    const { path, session, etag } = await stored({ a: 1, b: 1 });
    const other = await call("PATCH", path, { version: 1, sid: session.sid, set: { a: 2 } });
    expect(other.status).toBe(200);
    // From version 1 with body fields this change of "b" merges; with If-Match it must not.
    const res = await send("PATCH", path, { "If-Match": etag }, { set: { b: 2 } });
    expect(res.status).toBe(412);
    const refused = await body(res);
    expect(refused.error).toEqual({
      code: "precondition_failed",
      message: expect.stringContaining("If-Match"),
      key: "abc",
      keys: [],
    });
    expect(refused.current).toMatchObject({ sid: session.sid, version: 2, data: { a: 2, b: 1 } });
    expect((await body(await call("GET", path))).data).toEqual({ a: 2, b: 1 });
    const merged = await call("PATCH", path, { version: 1, sid: session.sid, set: { b: 2 } });
    expect(merged.status).toBe(200);
  });

  it("answers 412 with current null once the session ended, and stores nothing", async () => {
    const { path, etag } = await stored({ n: 1 });
    await call("DELETE", path);
    const res = await send("PATCH", path, { "If-Match": etag }, { set: { n: 2 } });
    expect(res.status).toBe(412);
    expect((await body(res)).current).toBeNull();
    expect((await call("GET", path)).status).toBe(404);
  });

  it("answers 412 with the new session when another one took the key", async () => {
    const { path, etag } = await stored({ n: 1 });
    await call("DELETE", path);
    const replacement = await body(await call("PATCH", path, { version: 0, set: { m: 1 } }));
    const res = await send("PATCH", path, { "If-Match": etag }, { set: { n: 2 } });
    expect(res.status).toBe(412);
    expect((await body(res)).current).toEqual(replacement);
  });

  it.each([
    ["*", () => "*"],
    ["a weak ETag", (etag: string) => `W/${etag}`],
    ["a list", (etag: string) => `${etag}, "other:2"`],
    ["an ETag of another kind", () => '"abc"'],
    ["an unquoted ETag", (etag: string) => etag.slice(1, -1)],
  ])("refuses %s with 400 invalid_precondition and writes nothing", async (_, header) => {
    const { path, session, etag } = await stored({ n: 1 });
    const res = await send("PATCH", path, { "If-Match": header(etag) }, { set: { n: 2 } });
    expect(res.status).toBe(400);
    expect((await body(res)).error).toEqual({
      code: "invalid_precondition",
      message: expect.stringContaining("If-Match"),
    });
    expect(await body(await call("GET", path))).toEqual(session);
  });

  it("refuses a body whose version differs from If-Match with 400 invalid_precondition", async () => {
    const { path, session, etag } = await stored({ n: 1 });
    const res = await send("PATCH", path, { "If-Match": etag }, { version: 2, sid: session.sid });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_precondition");
  });
});

describe("DELETE with If-Match", () => {
  it("ends the session when the ETag is current: 204", async () => {
    const { path, etag } = await stored({ n: 1 });
    const res = await send("DELETE", path, { "If-Match": etag });
    expect(res.status).toBe(204);
    expect((await call("GET", path)).status).toBe(404);
  });

  it("refuses a stale ETag with 412 and the current session; the session lives on", async () => {
    const { path, session, etag } = await stored({ n: 1 });
    await call("PATCH", path, { version: 1, sid: session.sid, set: { n: 2 } });
    const res = await send("DELETE", path, { "If-Match": etag });
    expect(res.status).toBe(412);
    expect((await body(res)).current).toMatchObject({ version: 2, data: { n: 2 } });
    expect((await call("GET", path)).status).toBe(200);
  });

  it("answers 412 with current null when there is no live session", async () => {
    const { path, etag } = await stored({ n: 1 });
    await call("DELETE", path);
    const res = await send("DELETE", path, { "If-Match": etag });
    expect(res.status).toBe(412);
    expect(await body(res)).toMatchObject({
      error: { code: "precondition_failed" },
      current: null,
    });
  });
});
