// Conditional requests (README "HTTP API", "ETags"): strong ETags on session answers, If-Match on
// PATCH and DELETE (412 precondition_failed, nothing written), If-None-Match on GET (304).
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { T0, testClock } from "./clock";
import { call } from "./helpers";

// This file sets the clock it relies on, whatever other files left in it.
const NOW = T0;
beforeEach(() => {
  testClock.now = NOW;
});

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
    ["an unquoted ETag", (etag: string) => etag.slice(1, -1)],
    ["a list with garbage after a tag", (etag: string) => `${etag}, abc`],
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

  it.each([
    ["a weak ETag (If-Match compares strongly)", (etag: string) => `W/${etag}`],
    ["an ETag of another kind", () => '"abc"'],
  ])("answers 412 to %s and writes nothing", async (_, header) => {
    const { path, session, etag } = await stored({ n: 1 });
    const res = await send("PATCH", path, { "If-Match": header(etag) }, { set: { n: 2 } });
    expect(res.status).toBe(412);
    expect((await body(res)).current).toEqual(session);
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

  it("answers 404 not_found when there is no live session, as without If-Match (RFC 9110 §13.2.1)", async () => {
    const { path, etag } = await stored({ n: 1 });
    await call("DELETE", path);
    const res = await send("DELETE", path, { "If-Match": etag });
    expect(res.status).toBe(404);
    expect((await body(res)).error.code).toBe("not_found");
  });
});

/**
 * Every combination of the two preconditions on each method, on a stored session and on a
 * missing one, against RFC 9110 §13.2.2 as written out here (not the worker's own evaluation):
 * If-Match first (`*`: a session exists; tags: one is the current one), then If-None-Match
 * (`*`: a session exists; tags: one is the current one). A read answers 304 where If-None-Match
 * fails, a write 412; a failing If-Match is 412. A missing session is 404 on GET, HEAD and DELETE
 * whatever the preconditions (§13.2.1: they apply only where the request would succeed without
 * them); PATCH creates, so they apply. Every answer is also checked against the OpenAPI document
 * (test/workers/main.ts), and every refused request is checked to have written nothing.
 */
describe("preconditions, every combination (RFC 9110 §13.2.2)", () => {
  type Tags = { current: string; stale: string };
  const IF_MATCH = {
    absent: undefined,
    current: (t: Tags) => t.current,
    stale: (t: Tags) => t.stale,
    "*": () => "*",
    "list containing current": (t: Tags) => `"other:9", ${t.current}`,
  } as const;
  const IF_NONE_MATCH = {
    absent: undefined,
    current: (t: Tags) => t.current,
    stale: (t: Tags) => t.stale,
    "*": () => "*",
  } as const;
  type IfMatch = keyof typeof IF_MATCH;
  type IfNoneMatch = keyof typeof IF_NONE_MATCH;
  const METHODS = ["GET", "HEAD", "PATCH", "DELETE"] as const;

  /** The status RFC 9110 asks for. */
  function expected(
    method: (typeof METHODS)[number],
    ifMatch: IfMatch,
    ifNoneMatch: IfNoneMatch,
    exists: boolean,
  ): number {
    const read = method === "GET" || method === "HEAD";
    if (!exists && method !== "PATCH") return 404;
    if (ifMatch !== "absent") {
      const holds = exists && ifMatch !== "stale";
      if (!holds) return 412;
    }
    if (ifNoneMatch !== "absent" && exists && (ifNoneMatch === "current" || ifNoneMatch === "*")) {
      return read ? 304 : 412;
    }
    return method === "DELETE" ? 204 : 200;
  }

  const cases = METHODS.flatMap((method) =>
    (Object.keys(IF_MATCH) as IfMatch[]).flatMap((ifMatch) =>
      (Object.keys(IF_NONE_MATCH) as IfNoneMatch[]).flatMap((ifNoneMatch) =>
        [true, false].map((exists) => ({ method, ifMatch, ifNoneMatch, exists })),
      ),
    ),
  );
  const app = newApp();
  let keys = 0;

  it.each(cases)(
    "$method, If-Match $ifMatch, If-None-Match $ifNoneMatch, session stored: $exists",
    async ({ method, ifMatch, ifNoneMatch, exists }) => {
      // A session at version 2 (its version-1 tag is stale); a missing one ended after that.
      const path = `/v1/apps/${app}/sessions/m${++keys}`;
      const first = await body(await call("PATCH", path, { version: 0, set: { n: 1 } }));
      const second = await call("PATCH", path, { version: 1, sid: first.sid, set: { n: 2 } });
      const tags = { stale: `"${first.sid}:1"`, current: second.headers.get("ETag") as string };
      if (!exists) await call("DELETE", path);
      const before = await call("GET", path);
      const beforeBody = before.status === 200 ? await body(before) : null;

      const headers: Record<string, string> = {};
      const match = IF_MATCH[ifMatch];
      const noneMatch = IF_NONE_MATCH[ifNoneMatch];
      if (match !== undefined) headers["If-Match"] = match(tags);
      if (noneMatch !== undefined) headers["If-None-Match"] = noneMatch(tags);
      const conditional = match !== undefined || noneMatch !== undefined;
      // A conditional PATCH leaves version and sid to the preconditions; else the body names them.
      const change = conditional
        ? { set: { n: 3 } }
        : exists
          ? { version: 2, sid: first.sid, set: { n: 3 } }
          : { version: 0, set: { n: 3 } };
      const res = await send(method, path, headers, method === "PATCH" ? change : undefined);

      const status = expected(method, ifMatch, ifNoneMatch, exists);
      expect(res.status).toBe(status);
      if (status === 304) expect(res.headers.get("ETag")).toBe(tags.current);
      if (status === 412 && method !== "HEAD") {
        expect(await body(res)).toMatchObject({
          error: { code: "precondition_failed" },
          current: beforeBody,
        });
      }
      const after = await call("GET", path);
      if (status === 204) {
        expect(after.status).toBe(404);
      } else if (method === "PATCH" && status === 200) {
        expect((await body(after)).data).toEqual({ n: 3 });
      } else if (beforeBody === null) {
        expect(after.status).toBe(404);
      } else {
        // Refused, or a read: nothing written (a read only touches, which changes no field shown).
        expect(await body(after)).toEqual(beforeBody);
      }
    },
  );
});

describe("conditional writes", () => {
  it("If-None-Match: * creates a missing session, and refuses (412) to touch an existing one", async () => {
    const path = `/v1/apps/${newApp()}/sessions/abc`;
    const created = await send("PATCH", path, { "If-None-Match": "*" }, { set: { n: 1 } });
    expect(created.status).toBe(200);
    expect(await body(created)).toMatchObject({ version: 1, data: { n: 1 } });
    const again = await send("PATCH", path, { "If-None-Match": "*" }, { set: { m: 1 } });
    expect(again.status).toBe(412);
    expect((await body(again)).current).toMatchObject({ version: 1, data: { n: 1 } });
    expect((await body(await call("GET", path))).data).toEqual({ n: 1 });
  });

  it("applies to exactly the state the preconditions held on: a body naming an older version is 412, not merged", async () => {
    const { path, session } = await stored({ a: 1, b: 1 });
    await call("PATCH", path, { version: 1, sid: session.sid, set: { a: 2 } });
    const change = { version: 1, sid: session.sid, set: { b: 2 } };
    const res = await send("PATCH", path, { "If-None-Match": '"other:1"' }, change);
    expect(res.status).toBe(412);
    expect((await body(res)).current).toMatchObject({ version: 2, data: { a: 2, b: 1 } });
    // The same change without a precondition merges.
    expect((await call("PATCH", path, change)).status).toBe(200);
  });

  it("DELETE with If-Match: * ends an existing session", async () => {
    const { path } = await stored({ n: 1 });
    expect((await send("DELETE", path, { "If-Match": "*" })).status).toBe(204);
    expect((await call("GET", path)).status).toBe(404);
  });

  it("refuses a malformed If-None-Match with 400 invalid_precondition, on a read too", async () => {
    const { path } = await stored({ n: 1 });
    const res = await send("GET", path, { "If-None-Match": "not-a-tag" });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_precondition");
  });

  it("HEAD with a precondition carries the ETag, and answers 304 as GET does", async () => {
    const { path, etag } = await stored({ n: 1 });
    const head = await send("HEAD", path, { "If-None-Match": '"other:1"' });
    expect(head.status).toBe(200);
    expect(head.headers.get("ETag")).toBe(etag);
    expect((await send("HEAD", path, { "If-None-Match": etag })).status).toBe(304);
  });
});

describe("an empty If-Match", () => {
  it("never reaches the worker: the runtime drops it, and the DELETE is unconditional", async () => {
    // What the README warns of, and what Require-Precondition is for.
    const { path } = await stored({ n: 1 });
    expect((await send("DELETE", path, { "If-Match": "" })).status).toBe(204);
    expect((await call("GET", path)).status).toBe(404);
  });
});

describe("Require-Precondition: true", () => {
  it("refuses a PATCH without If-Match or If-None-Match with 428 precondition_required, writing nothing", async () => {
    const { path, session } = await stored({ n: 1 });
    const change = { version: 1, sid: session.sid, set: { n: 2 } };
    const res = await send("PATCH", path, { "Require-Precondition": "true" }, change);
    expect(res.status).toBe(428);
    expect((await body(res)).error.code).toBe("precondition_required");
    expect(await body(await call("GET", path))).toEqual(session);
  });

  it("refuses a DELETE whose empty If-Match the runtime dropped: 428, the session lives", async () => {
    const { path, session } = await stored({ n: 1 });
    const res = await send("DELETE", path, { "Require-Precondition": "true", "If-Match": "" });
    expect(res.status).toBe(428);
    expect(await body(await call("GET", path))).toEqual(session);
  });

  it("lets a conditional write through", async () => {
    const { path, etag } = await stored({ n: 1 });
    const headers = { "Require-Precondition": "true", "If-Match": etag };
    expect((await send("DELETE", path, headers)).status).toBe(204);
    const created = await send(
      "PATCH",
      path,
      { "Require-Precondition": "true", "If-None-Match": "*" },
      { set: { n: 2 } },
    );
    expect(created.status).toBe(200);
  });

  it("refuses a value other than true with 400 invalid_precondition", async () => {
    const { path } = await stored({ n: 1 });
    const res = await send("DELETE", path, { "Require-Precondition": "yes", "If-Match": "*" });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("invalid_precondition");
    expect((await call("GET", path)).status).toBe(200);
  });
});
