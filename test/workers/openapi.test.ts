// GET /v1/openapi.json (README "HTTP API"): the OpenAPI 3.1 document, without a token; valid by
// the OpenAPI 3.1 schema; the same as openapi.json in the repository; and covering every route.
import { env, exports } from "cloudflare:workers";
import { validate } from "@hyperjump/json-schema/openapi-3-1";
import { describe, expect, it } from "vitest";
import stored from "../../openapi.json";
import { api } from "../../worker/app";
import { openApiDocument } from "../../worker/openapi";

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
    const documented = new Set(
      Object.entries(openApiDocument().paths).flatMap(([path, item]) =>
        Object.keys(item).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`,
        ),
      ),
    );
    const registered = api.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path}`);
    expect(registered.length).toBeGreaterThan(8);
    for (const route of registered) expect(documented).toContain(route);
    // And every documented operation is served (HEAD by the GET handler).
    for (const operation of documented) {
      expect(registered).toContain(operation.replace(/^HEAD /, "GET "));
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
      "invalid_precondition",
      "unauthorized",
      "not_found",
      "no_route",
      "app_not_found",
      "method_not_allowed",
      "conflict",
      "session_ended",
      "key_taken",
      "wrong_shard",
      "settings_mismatch",
      "precondition_failed",
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
