// GET /v1/openapi.json (README "HTTP API"): the OpenAPI 3.1 document, without a token; valid by
// the OpenAPI 3.1 schema; the same as openapi.json in the repository; and covering every route.
import { env, exports } from "cloudflare:workers";
import { validate } from "@hyperjump/json-schema/openapi-3-1";
import { describe, expect, it } from "vitest";
import stored from "../../openapi.json";
import { ERROR_CODES, type ErrorCode, isErrorCode } from "../../src/core/errors";
import { SESSION_KEY_PATTERN } from "../../src/core/names";
import { openApiDocument } from "../../worker/api/openapi";
import { api } from "../../worker/app";

describe("GET /v1/openapi.json", () => {
  it("answers the document without a token", async () => {
    const res = await exports.default.fetch("https://sessions.test/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(openApiDocument());
  });

  it("answers even while no API token is configured (the API refuses everything else)", async () => {
    const unconfigured = { ...env, SESSIONS_API_TOKEN: "" } as Cloudflare.Env;
    expect((await api.request("/v1/openapi.json", {}, unconfigured)).status).toBe(200);
    expect((await api.request("/v1/apps/shop", {}, unconfigured)).status).toBe(503);
  });

  it("still refuses other /v1 requests without a token", async () => {
    const res = await exports.default.fetch("https://sessions.test/v1/apps/shop");
    expect(res.status).toBe(401);
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const output = await validate(
      "https://spec.openapis.org/oas/3.1/schema-base",
      openApiDocument() as never,
      "BASIC",
    );
    expect(output).toEqual({ valid: true });
    expect(openApiDocument().openapi).toBe("3.1.0");
  });

  it("would notice a document that is not valid OpenAPI", async () => {
    const { info: _, ...withoutInfo } = openApiDocument();
    const output = await validate(
      "https://spec.openapis.org/oas/3.1/schema-base",
      withoutInfo as never,
    );
    expect(output.valid).toBe(false);
  });

  it("is the one kept in the repository as openapi.json (npm run openapi writes it)", () => {
    expect(stored).toEqual(openApiDocument());
  });

  it("covers every route the worker answers, with the method it answers", () => {
    const operations = Object.entries(openApiDocument().paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => method !== "parameters")
        .map(([method, op]) => ({
          route: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`,
          refused: Object.hasOwn(op.responses as object, "405"),
        })),
    );
    const documented = new Set(operations.map((o) => o.route));
    const registered = api.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path}`);
    const refusing = new Set(api.routes.filter((r) => r.method === "ALL").map((r) => r.path));
    expect(registered.length).toBeGreaterThan(8);
    for (const route of registered) expect(documented).toContain(route);
    for (const { route, refused } of operations) {
      if (refused) {
        // A 405 operation: its path refuses the methods it lacks.
        expect(refusing).toContain(route.split(" ")[1]);
        expect(registered).not.toContain(route);
      } else {
        // Every other documented operation is served (HEAD by the GET handler).
        expect(registered).toContain(route.replace(/^HEAD /, "GET "));
      }
    }
  });

  it("declares each error code of the README's table for some route", () => {
    const text = JSON.stringify(openApiDocument());
    for (const code of [
      "invalid_key",
      "invalid_json",
      "invalid_changeset",
      "invalid_settings",
      "invalid_input",
      "invalid_user",
      "invalid_labels",
      "invalid_precondition",
      "unauthorized",
      "not_found",
      "no_route",
      "app_not_found",
      "user_not_found",
      "handle_not_found",
      "method_not_allowed",
      "conflict",
      "session_ended",
      "key_taken",
      "wrong_shard",
      "settings_mismatch",
      "precondition_failed",
      "precondition_required",
      "session_too_large",
      "body_too_large",
      "unsupported_media_type",
      "not_configured",
      "unavailable",
      "internal",
    ]) {
      expect(text).toContain(`"${code}"`);
    }
  });
});

type Json = Record<string, unknown>;
const METHODS = ["get", "head", "post", "put", "patch", "delete", "options"];

function operations(): [string, string, Json][] {
  return Object.entries(openApiDocument().paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => [path, method, op as Json] as [string, string, Json]),
  );
}

/** A response object, its reference to components.responses followed. */
function resolved(answer: Json): Json {
  const ref = answer.$ref;
  if (typeof ref !== "string") return answer;
  const name = ref.replace("#/components/responses/", "");
  return openApiDocument().components.responses?.[name] as Json;
}

describe("the OpenAPI document, complete", () => {
  it("declares every method of every path: the ones it lacks answer 405 with Allow", async () => {
    const paths = openApiDocument().paths;
    for (const [path, item] of Object.entries(paths)) {
      const allow = METHODS.filter(
        (m) => !Object.hasOwn((item[m] as Json).responses as Json, "405"),
      );
      for (const method of METHODS) {
        const op = item[method] as Json;
        expect(op, `${method} ${path}`).toBeDefined();
        if (allow.includes(method)) continue;
        const refused = resolved((op.responses as Json)["405"] as Json);
        expect((refused.headers as Json).Allow).toMatchObject({ required: true });
        // The server answers it so (and main.ts checks the answer against the document).
        const url = path.replace("{app}", "shop").replace("{key}", "abc");
        const res = await exports.default.fetch(`https://sessions.test${url}`, {
          method: method.toUpperCase(),
          headers: { Authorization: "Bearer test-token" },
        });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get("Allow")).toBe(allow.map((m) => m.toUpperCase()).join(", "));
      }
    }
  });

  it("declares HEAD on every GET path, its 401 with WWW-Authenticate", () => {
    for (const [path, item] of Object.entries(openApiDocument().paths)) {
      if (item.get === undefined) continue;
      const head = item.head as Json;
      expect(Object.keys(head.responses as Json)).toEqual(
        expect.arrayContaining(Object.keys((item.get as Json).responses as Json)),
      );
      const unauthorized = (head.responses as Json)["401"] as Json | undefined;
      if (path.startsWith("/v1/apps")) {
        expect((resolved(unauthorized as Json).headers as Json)["WWW-Authenticate"]).toBeDefined();
      }
      for (const answer of Object.values(head.responses as Json)) {
        expect((answer as Json).content).toBeUndefined();
      }
    }
  });

  it("names 404 no_route for paths it does not have", () => {
    const doc = openApiDocument();
    expect(JSON.stringify(doc.components.responses?.NoRoute)).toContain('"no_route"');
    expect((doc.info as Json).description).toContain("no_route");
  });

  it("gives Changeset.newKey the pattern of RegenerateRequest.newKey", () => {
    const schemas = openApiDocument().components.schemas as Record<string, Json>;
    const newKey = (s: string) => ((schemas[s] as Json).properties as Json).newKey as Json;
    expect(newKey("Changeset").pattern).toBeDefined();
    expect(newKey("Changeset").pattern).toBe(newKey("RegenerateRequest").pattern);
  });

  it("gives every session key it takes (path, own=, except=, newKey) the core's key pattern, tags included", () => {
    const doc = openApiDocument();
    const keyParams = Object.values(doc.paths).flatMap((item) =>
      Object.values(item).flatMap((value) =>
        (Array.isArray(value) ? value : (((value as Json).parameters as Json[]) ?? []))
          .map((p) => p as Json)
          .filter((p) => ["key", "own", "except"].includes(p.name as string)),
      ),
    );
    expect(new Set(keyParams.map((p) => `${p.in} ${p.name}`))).toEqual(
      new Set(["path key", "query own", "query except"]),
    );
    const schemas = doc.components.schemas as Record<string, Json>;
    const newKey = ((schemas.Changeset as Json).properties as Json).newKey as Json;
    for (const schema of [...keyParams.map((p) => p.schema as Json), newKey]) {
      expect(schema.pattern).toBe(SESSION_KEY_PATTERN.source);
    }
    const pattern = new RegExp(SESSION_KEY_PATTERN.source);
    expect(pattern.test("0123456789abcdef!x7Qk-_")).toBe(true);
    expect(pattern.test("a!b!c")).toBe(false);
  });

  it("has servers, and no jsonSchemaDialect (3.1's default; Prism skips body checks with it)", () => {
    const doc = openApiDocument();
    expect(doc.servers).toEqual(
      expect.arrayContaining([expect.objectContaining({ url: expect.any(String) })]),
    );
    expect(doc).not.toHaveProperty("jsonSchemaDialect");
  });

  it("says in every error answer which codes it carries, so a client can narrow on status and code", () => {
    for (const { where, code } of errorCodeSchemas()) {
      expect(code.enum, where).toEqual(expect.any(Array));
      expect((code.enum as string[]).length).toBeGreaterThan(0);
    }
  });

  it("declares each error code under the status that ERROR_CODES gives it", () => {
    for (const { where, status, code } of errorCodeSchemas()) {
      for (const name of code.enum as string[]) {
        expect(isErrorCode(name), `${where} ${name}`).toBe(true);
        const table = ERROR_CODES[name as ErrorCode] as number;
        expect(table, `${where} ${name}`).toBe(status);
      }
    }
  });

  it("requires the stats fields the server always sends (layout, moved)", () => {
    const stats = (openApiDocument().components.schemas as Record<string, Json>).AppStats as Json;
    expect(stats.required).toEqual(expect.arrayContaining(["layout", "moved"]));
  });
});

/** The `code` schema of every error answer the document declares, with where it stands. */
function* errorCodeSchemas(): Generator<{ where: string; status: number; code: Json }> {
  for (const [path, method, op] of operations()) {
    for (const [status, answer] of Object.entries(op.responses as Json)) {
      const schema = (resolved(answer as Json).content as Json | undefined)?.["application/json"] as
        | Json
        | undefined;
      if (Number(status) < 400 || schema === undefined) continue;
      const body = (schema.schema as Json).allOf
        ? (((schema.schema as Json).allOf as Json[])[0] as Json)
        : (schema.schema as Json);
      const error = (body.properties as Json).error as Json;
      const code = (error.properties as Json).code as Json;
      yield { where: `${method} ${path} ${status}`, status: Number(status), code };
    }
  }
}
