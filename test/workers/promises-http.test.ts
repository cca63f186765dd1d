/**
 * Promises of the HTTP API about failures and logs (docs/DESIGN.md#errors): a retryable platform
 * error answers 503 with `Retry-After: 1`; anything unexpected answers 500 `internal` and tells
 * the client nothing of it; the worker never logs a token or session data.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiRequest, call } from "./helpers";

/** A namespace whose every object call rejects with `error`. */
function failingNamespace(error: Error): DurableObjectNamespace {
  const stub = new Proxy(
    {},
    {
      get: (_target, name) => (name === "then" ? undefined : () => Promise.reject(error)),
    },
  );
  return { getByName: () => stub, idFromName: () => ({}), get: () => stub } as never;
}

function withNamespace(namespace: DurableObjectNamespace): Cloudflare.Env {
  return { ...env, SESSION_MANAGER: namespace as Cloudflare.Env["SESSION_MANAGER"] };
}

const auth = { Authorization: "Bearer test-token" };

afterEach(() => {
  vi.restoreAllMocks();
});

describe("failures over HTTP", () => {
  it("a retryable platform error answers 503 unavailable with Retry-After: 1", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const error = Object.assign(new Error("Durable Object reset (test)"), { retryable: true });
    const response = await apiRequest(
      "/v1/apps/p-503/sessions/k",
      { method: "GET", headers: auth },
      withNamespace(failingNamespace(error)),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(await response.json()).toMatchObject({ error: { code: "unavailable" } });
  });

  it("an overloaded object answers 503 with Retry-After: 1 too", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const error = Object.assign(new Error("Durable Object is overloaded (test)"), {
      overloaded: true,
    });
    const response = await apiRequest(
      "/v1/apps/p-503b/sessions/k",
      { method: "GET", headers: auth },
      withNamespace(failingNamespace(error)),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
  });

  it("an unexpected error answers 500 internal and tells the client nothing of it", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const error = new TypeError("secret-detail-7f3a at /srv/internal/path.ts:42");
    const response = await apiRequest(
      "/v1/apps/p-500/sessions/k",
      { method: "GET", headers: auth },
      withNamespace(failingNamespace(error)),
    );
    expect(response.status).toBe(500);
    expect(response.headers.get("Retry-After")).toBeNull();
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "internal" } });
    expect(text).not.toContain("secret-detail");
    expect(text).not.toContain("TypeError");
    expect(text).not.toContain("path.ts");
  });
});

describe("the worker's logs", () => {
  it("never hold a token or session data, through reads, commits, refusals and errors", async () => {
    const logged: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const app = "p-logs";
    const secret = "s3cr3t-session-value";
    const created = await call("PATCH", `/v1/apps/${app}/sessions/k`, {
      version: 0,
      set: { secret },
    });
    expect(created.status).toBe(200);
    const { sid } = (await created.json()) as { sid: string };
    await call("GET", `/v1/apps/${app}/sessions/k`);
    // A stale commit (409 with the session as `current`), a bad body, a bad token.
    await call("PATCH", `/v1/apps/${app}/sessions/k`, { sid, version: 1, set: { secret: 2 } });
    await call("PATCH", `/v1/apps/${app}/sessions/k`, { sid, version: 1, set: { secret: 3 } });
    await call("PATCH", `/v1/apps/${app}/sessions/k`, { nonsense: secret });
    await apiRequest(
      `/v1/apps/${app}/sessions/k`,
      { method: "GET", headers: { Authorization: "Bearer wrong-token-c0ffee" } },
      env,
    );
    // An unexpected error and a retryable one, both logged.
    for (const flags of [{}, { retryable: true }]) {
      const error = Object.assign(new Error("failed (test)"), flags);
      await apiRequest(
        `/v1/apps/${app}/sessions/k`,
        {
          method: "PATCH",
          headers: { ...auth, "Content-Type": "application/json" },
          body: JSON.stringify({ sid, version: 2, set: { secret } }),
        },
        withNamespace(failingNamespace(error)),
      );
    }
    await call("DELETE", `/v1/apps/${app}/sessions/k`);

    expect(logged.length).toBeGreaterThan(0); // the errors were logged
    for (const line of logged) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain("test-token");
      expect(line).not.toContain("wrong-token-c0ffee");
      expect(line).not.toContain(sid);
    }
  });
});
