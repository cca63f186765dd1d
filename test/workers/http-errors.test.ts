// Bad requests to the HTTP API (docs/DESIGN.md#errors): each gets a clear JSON error with its status, changes
// nothing, and none reaches a Durable Object it should not, or ends in a 500.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { COMPARED_UNITS } from "../../worker/http/auth";
import { MAX_BODY_BYTES } from "../../worker/http/body";
import { apiRequest } from "./helpers";

const AUTH = { Authorization: "Bearer test-token" };
const BASE = "https://sessions.test";

let apps = 0;
function newApp(): string {
  return `errors-${++apps}`;
}

function send(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** A request with the test token and a raw body of the given content type. */
function withBody(method: string, path: string, body: BodyInit, contentType = "application/json") {
  return send(path, { method, headers: { ...AUTH, "Content-Type": contentType }, body });
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
async function errorOf(res: Response): Promise<any> {
  return ((await res.json()) as { error: unknown }).error;
}

/** An env whose Durable Object namespace fails the test if the worker reaches for it. */
const noObjects = {
  ...env,
  SESSION_MANAGER: {
    getByName(name: string) {
      throw new Error(`the worker reached Durable Object "${name}" for a bad request`);
    },
  },
} as unknown as Cloudflare.Env;

describe("authentication", () => {
  it("refuses a request without a token: 401 unauthorized with WWW-Authenticate", async () => {
    const res = await send(`/v1/apps/${newApp()}/sessions/abc`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    expect(await errorOf(res)).toEqual({
      code: "unauthorized",
      message: expect.stringContaining("Authorization: Bearer"),
    });
  });

  it.each([
    ["a wrong token", "Bearer wrong-token"],
    ["the token with a suffix", "Bearer test-token2"],
    ["a prefix of the token", "Bearer test"],
    ["another scheme", "Basic dGVzdC10b2tlbg=="],
    ["the bare token", "test-token"],
    ["an empty bearer", "Bearer "],
  ])("refuses %s: 401 unauthorized", async (_, authorization) => {
    const res = await send(`/v1/apps/${newApp()}`, { headers: { Authorization: authorization } });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    expect((await errorOf(res)).code).toBe("unauthorized");
  });

  /** A request to a new app with `authorization`, the API token configured as `token`. */
  const withToken = (token: string, authorization: string) =>
    apiRequest(
      `/v1/apps/${newApp()}`,
      { method: "POST", headers: { Authorization: authorization } },
      { ...env, SESSIONS_API_TOKEN: token } as Cloudflare.Env,
    );

  it("follows the configured token when it changes: the old one is refused, the new one accepted", async () => {
    expect((await withToken("first-token", "Bearer first-token")).status).toBe(200);
    expect((await withToken("second-token", "Bearer first-token")).status).toBe(401);
    expect((await withToken("second-token", "Bearer second-token")).status).toBe(200);
  });

  it("compares a token longer than the compared units whole: its prefix and a change at its end are refused", async () => {
    const long = `${"t".repeat(COMPARED_UNITS + 40)}`;
    expect((await withToken(long, `Bearer ${long}`)).status).toBe(200);
    expect((await withToken(long, `Bearer ${long.slice(0, COMPARED_UNITS)}`)).status).toBe(401);
    expect((await withToken(long, `Bearer ${long.slice(0, -1)}u`)).status).toBe(401);
    expect((await withToken(long, `Bearer ${long}t`)).status).toBe(401);
  });

  it("refuses a given token longer than the compared units that starts with the configured one", async () => {
    const res = await withToken("test-token", `Bearer test-token${"x".repeat(COMPARED_UNITS)}`);
    expect(res.status).toBe(401);
  });

  it("accepts the scheme in any case", async () => {
    const res = await send(`/v1/apps/${newApp()}`, {
      method: "POST",
      headers: { Authorization: "bearer test-token" },
    });
    expect(res.status).toBe(200);
  });

  it("checks the token before anything else, so unknown paths answer 401 too", async () => {
    expect((await send("/v1/nothing-here")).status).toBe(401);
    expect((await send("/v1/apps/BAD NAME")).status).toBe(401);
  });

  it.each([
    ["empty", ""],
    ["not set", undefined],
    ["only spaces", "   "],
    ["only whitespace", " \t\n "],
  ])("fails closed when the token secret is %s: 503 not_configured", async (_, token) => {
    const res = await apiRequest(
      `/v1/apps/${newApp()}/sessions/abc`,
      { method: "POST", headers: AUTH },
      { ...env, SESSIONS_API_TOKEN: token } as Cloudflare.Env,
    );
    expect(res.status).toBe(503);
    expect(await errorOf(res)).toEqual({
      code: "not_configured",
      message: expect.stringContaining("wrangler secret put SESSIONS_API_TOKEN"),
    });
  });
});

describe("app names and session keys", () => {
  it.each([
    ["an upper-case app name", "/v1/apps/Shop/sessions/abc"],
    ["an app name starting with a dash", "/v1/apps/-shop/sessions/abc"],
    ["an app name with a dot", "/v1/apps/sh.op/sessions/abc"],
    ["an app name of 65 characters", `/v1/apps/${"a".repeat(65)}/sessions/abc`],
    ["an encoded slash in the key", "/v1/apps/shop/sessions/a%2Fb"],
    ["a space in the key", "/v1/apps/shop/sessions/a%20b"],
    ["a non-ASCII key", "/v1/apps/shop/sessions/%C3%A9t%C3%A9"],
    ["a key of 257 characters", `/v1/apps/shop/sessions/${"k".repeat(257)}`],
    ["a malformed escape in the key", "/v1/apps/shop/sessions/%E0%A4%A"],
  ])("refuses %s with 400 invalid_key before reaching a Durable Object", async (_, path) => {
    for (const method of ["POST", "GET", "DELETE"]) {
      const res = await apiRequest(path, { method, headers: AUTH }, noObjects);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_key");
    }
  });

  it("refuses a bad app name on the app routes with 400 invalid_key", async () => {
    const res = await apiRequest("/v1/apps/A_B", { headers: AUTH }, noObjects);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_key",
      message: expect.stringContaining("Invalid app name"),
    });
  });

  it("accepts every character the key rules allow", async () => {
    const key = "Aa0._~:@-";
    const res = await send(`/v1/apps/${newApp()}/sessions/${key}`, {
      method: "POST",
      headers: AUTH,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { key: string }).key).toBe(key);
  });
});

describe("routes and methods", () => {
  it.each([
    "/",
    "/v2/apps/shop",
    "/v1",
    "/v1/apps",
    "/v1/apps/shop/sessions",
    "/v1/apps/shop/sessions/abc/data",
    "/v1/apps/shop/other/abc",
  ])("answers 404 no_route for the unknown route %s", async (path) => {
    const res = await send(path, { headers: AUTH });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("no_route");
  });

  it.each([
    ["PUT", "/v1/apps/shop/sessions/abc", "GET, HEAD, POST, PATCH, DELETE"],
    ["OPTIONS", "/v1/apps/shop/sessions/abc", "GET, HEAD, POST, PATCH, DELETE"],
    ["PATCH", "/v1/apps/shop", "GET, HEAD, POST, PUT, DELETE"],
    ["GET", "/v1/apps/shop/sessions/abc/regenerate", "POST"],
  ])("answers %s %s with 405 and Allow: %s", async (method, path, allow) => {
    const res = await apiRequest(path, { method, headers: AUTH }, noObjects);
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe(allow);
    expect(await errorOf(res)).toEqual({
      code: "method_not_allowed",
      message: expect.stringContaining(allow),
    });
  });
});

describe("request bodies", () => {
  it.each([
    ["text that is not JSON", "version: 0"],
    ["truncated JSON", '{"version": 0'],
    ["an empty body", ""],
  ])("refuses %s with 400 invalid_json", async (_, text) => {
    const app = newApp();
    const res = await withBody("PATCH", `/v1/apps/${app}/sessions/abc`, text);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
    expect((await send(`/v1/apps/${app}/sessions/abc`, { headers: AUTH })).status).toBe(404);
  });

  it("refuses a body that is not valid UTF-8 with 400", async () => {
    // {"version":0,"set":{"a":"<0xff>"}}: one byte that never occurs in UTF-8.
    const bytes = new TextEncoder().encode('{"version":0,"set":{"a":"?"}}');
    bytes[bytes.indexOf(0x3f)] = 0xff;
    const res = await withBody("PATCH", `/v1/apps/${newApp()}/sessions/abc`, bytes);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_json",
      message: expect.stringContaining("UTF-8"),
    });
  });

  it.each([
    ["text/plain", "text/plain"],
    ["form data", "application/x-www-form-urlencoded"],
    ["JSON in another charset", "application/json; charset=iso-8859-1"],
  ])("refuses a body sent as %s with 415 unsupported_media_type", async (_, type) => {
    const res = await withBody("PATCH", `/v1/apps/${newApp()}/sessions/abc`, '{"version":0}', type);
    expect(res.status).toBe(415);
    expect(await errorOf(res)).toEqual({
      code: "unsupported_media_type",
      message: expect.stringContaining("application/json"),
    });
  });

  it("refuses a body without a content type with 415, on PUT as well", async () => {
    const res = await send(`/v1/apps/${newApp()}`, {
      method: "PUT",
      headers: AUTH,
      body: new TextEncoder().encode('{"timeout":60}'),
    });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe("unsupported_media_type");
  });

  it("refuses a body without a content type on POST /v1/apps/:app, where the body may be left out", async () => {
    const res = await send(`/v1/apps/${newApp()}`, {
      method: "POST",
      headers: AUTH,
      body: new TextEncoder().encode('{"timeout":60}'),
    });
    expect(res.status).toBe(415);
  });

  it("accepts application/json with a UTF-8 charset", async () => {
    const res = await withBody(
      "PATCH",
      `/v1/apps/${newApp()}/sessions/abc`,
      '{"version":0,"set":{"a":"é"}}',
      "Application/JSON; charset=UTF-8",
    );
    expect(res.status).toBe(200);
  });

  it("refuses a body over the limit by its Content-Length with 413 body_too_large", async () => {
    const huge = JSON.stringify({ version: 0, set: { a: "x".repeat(MAX_BODY_BYTES) } });
    const app = newApp();
    const res = await withBody("PATCH", `/v1/apps/${app}/sessions/abc`, huge);
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toEqual({
      code: "body_too_large",
      message: expect.stringContaining(String(MAX_BODY_BYTES)),
    });
    expect((await send(`/v1/apps/${app}/sessions/abc`, { headers: AUTH })).status).toBe(404);
  });

  it("refuses a streamed body without Content-Length once it passes the limit", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"version":0,"set":{"a":"'));
        sent += chunk.byteLength;
        controller.enqueue(chunk);
        // Far more than the limit, so the worker must stop reading on its own.
        if (sent > 4 * MAX_BODY_BYTES) controller.close();
      },
    });
    const res = await apiRequest(
      `/v1/apps/${newApp()}/sessions/abc`,
      { method: "PATCH", headers: { ...AUTH, "Content-Type": "application/json" }, body: stream },
      noObjects,
    );
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("body_too_large");
    expect(sent).toBeLessThan(2 * MAX_BODY_BYTES);
  });

  it("accepts a body just under the limit (the session size limit then applies)", async () => {
    const app = newApp();
    await withBody("PUT", `/v1/apps/${app}`, JSON.stringify({ maxSessionBytes: 1024 * 1024 }));
    const res = await withBody(
      "PATCH",
      `/v1/apps/${app}/sessions/abc`,
      JSON.stringify({ version: 0, set: { a: "x".repeat(1000 * 1024) } }),
    );
    expect(res.status).toBe(200);
  });
});

describe("no bad input ends in a 500", () => {
  const app = "no-500";
  const session = `/v1/apps/${app}/sessions/abc`;
  const json = { ...AUTH, "Content-Type": "application/json" };
  let deep = "1";
  for (let i = 0; i < 100_000; i++) deep = `[${deep}]`;
  const cases: [string, string, RequestInit][] = [
    ["PATCH with a deeply nested array", session, { method: "PATCH", headers: json, body: deep }],
    [
      "PATCH with a deeply nested value in set",
      session,
      { method: "PATCH", headers: json, body: `{"version":0,"set":{"a":${deep}}}` },
    ],
    ["PATCH with a number", session, { method: "PATCH", headers: json, body: "42" }],
    ["PATCH with a string", session, { method: "PATCH", headers: json, body: '"x"' }],
    [
      "PATCH with a huge version",
      session,
      { method: "PATCH", headers: json, body: '{"version":1e308}' },
    ],
    [
      "PATCH with version 0 and a sid",
      session,
      { method: "PATCH", headers: json, body: '{"version":0,"sid":"nope","set":{"a":1}}' },
    ],
    [
      "PATCH with a stale version",
      session,
      { method: "PATCH", headers: json, body: '{"version":7,"set":{"a":1}}' },
    ],
    [
      "PATCH with a __proto__ key",
      `/v1/apps/${app}/sessions/proto`,
      { method: "PATCH", headers: json, body: '{"version":0,"set":{"__proto__":{"x":1}}}' },
    ],
    ["PATCH with a BOM only", session, { method: "PATCH", headers: json, body: "\uFEFF" }],
    ["PUT with null", `/v1/apps/${app}`, { method: "PUT", headers: json, body: "null" }],
    [
      "PUT with a huge timeout",
      `/v1/apps/${app}`,
      { method: "PUT", headers: json, body: '{"timeout":1e999}' },
    ],
    ["PUT with nested garbage", `/v1/apps/${app}`, { method: "PUT", headers: json, body: deep }],
    ["GET with a long key", `/v1/apps/${app}/sessions/${"k".repeat(10_000)}`, { headers: AUTH }],
    ["GET with percent garbage", "/v1/apps/%ZZ/sessions/%", { headers: AUTH }],
    [
      "POST with a body of garbage",
      session,
      { method: "POST", headers: json, body: "\u0000\u0001" },
    ],
    ["HEAD with a bad key", "/v1/apps/shop/sessions/%00", { method: "HEAD", headers: AUTH }],
    [
      "an Authorization header of 10 kB",
      session,
      { headers: { Authorization: `Bearer ${"t".repeat(10_000)}` } },
    ],
    ["TRACE", session, { method: "TRACE", headers: AUTH }],
  ];

  it.each(cases)("answers %s with a 4xx JSON error or success", async (_, path, init) => {
    const res = await send(path, init);
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400 && init.method !== "HEAD") {
      const error = await errorOf(res);
      expect(error.code).toMatch(/^[a-z_]+$/);
      expect(error.message).toEqual(expect.any(String));
    }
  });
});

describe("messages of bodies that do not fit the API's schemas", () => {
  it.each([
    [
      "PATCH",
      "sessions/abc",
      [{ version: 0 }],
      "Invalid changeset: a changeset must be a JSON object",
    ],
    [
      "PATCH",
      "sessions/abc",
      { version: 0, colour: "red" },
      'Invalid changeset: unknown field "colour".',
    ],
    ["PATCH", "sessions/abc", { version: "1" }, 'Invalid changeset: "version" must be the integer'],
    ["PATCH", "sessions/abc", { version: 2 }, 'Invalid changeset: "sid" is required'],
    ["PUT", "", [60], "App settings must be a JSON object"],
    ["PUT", "", { replicas: 4 }, 'Unknown app setting "replicas"'],
    [
      "PUT",
      "",
      { timeout: "60" },
      'Setting timeout must be a number of seconds greater than 0, got "60".',
    ],
    ["PUT", "", { period: 100, timeout: 50 }, "Setting period (100) must not exceed timeout (50)"],
    [
      "POST",
      "sessions/a/regenerate",
      { newKey: "b", keep: 1 },
      'A regenerate body must be { "newKey"',
    ],
  ])("%s %s with %j says: %s", async (method, path, json, message) => {
    const res = await withBody(
      method,
      `/v1/apps/${newApp()}/${path}`.replace(/\/$/, ""),
      JSON.stringify(json),
    );
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain(message);
  });
});
