// The contract check itself (test/workers/contract.ts): it must refuse every answer that differs
// from the OpenAPI document, or the contract that every HTTP test relies on says nothing.
import { describe, expect, it } from "vitest";
import { contractProblems } from "./contract";

const SESSION_URL = "https://sessions.test/v1/apps/shop/sessions/abc";
const session = {
  key: "abc",
  sid: "0b6c2f0e-5b1a-4bb1-9d0c-3a1f2e4d5c6b",
  version: 1,
  isNew: false,
  valid: true,
  created: 1795770277.099,
  lastModified: 1795770277.099,
  data: { cart: ["apple"] },
};
const etag = { ETag: `"${session.sid}:1"` };

describe("the contract check", () => {
  it("accepts answers the document declares", async () => {
    expect(
      await contractProblems("GET", SESSION_URL, Response.json(session, { headers: etag })),
    ).toEqual([]);
    expect(
      await contractProblems("HEAD", SESSION_URL, new Response(null, { status: 404 })),
    ).toEqual([]);
    expect(
      await contractProblems(
        "GET",
        "https://sessions.test/v1/nothing",
        Response.json({ error: { code: "no_route", message: "No route." } }, { status: 404 }),
      ),
    ).toEqual([]);
  });

  it.each([
    ["a field the document does not have", { ...session, expires: 0 }, 200, etag],
    ["a field missing", { ...session, isNew: undefined }, 200, etag],
    ["a field of another type", { ...session, version: "1" }, 200, etag],
    ["a status the route does not declare", session, 201, etag],
    ["a missing required header", session, 200, {}],
    ["a malformed ETag", session, 200, { ETag: "W/1" }],
    [
      "an error code the status does not declare",
      { error: { code: "gone", message: "m" } },
      404,
      {},
    ],
    ["an error code of another status", { error: { code: "conflict", message: "m" } }, 400, {}],
    ["an error without its message", { error: { code: "not_found" } }, 404, {}],
  ])("refuses %s", async (_, body, status, headers) => {
    const response = Response.json(body, { status, headers });
    expect(await contractProblems("GET", SESSION_URL, response)).not.toEqual([]);
  });

  it("refuses a body where none is declared, and a body that is not JSON", async () => {
    const has = new Response("{}", { status: 200 });
    expect(await contractProblems("HEAD", SESSION_URL, has)).not.toEqual([]);
    const text = new Response("ok", { headers: { ...etag, "Content-Type": "text/plain" } });
    expect(await contractProblems("GET", SESSION_URL, text)).not.toEqual([]);
  });

  it("refuses a 405 without Allow, and a 405 on a path that does not exist", async () => {
    const refused = { error: { code: "method_not_allowed", message: "m" } };
    expect(
      await contractProblems("PUT", SESSION_URL, Response.json(refused, { status: 405 })),
    ).not.toEqual([]);
    expect(
      await contractProblems(
        "PUT",
        "https://sessions.test/v1/nothing",
        Response.json(refused, { status: 405, headers: { Allow: "GET" } }),
      ),
    ).not.toEqual([]);
  });
});
