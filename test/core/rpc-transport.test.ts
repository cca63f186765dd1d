import { afterEach, describe, expect, it, vi } from "vitest";
import { httpTransport } from "../../src/client/http-transport";
import { rpcTransport } from "../../src/client/rpc-transport";
import {
  type SessionManagerRpc,
  SessionOverloadedError,
  SessionTimeoutError,
  SessionUnavailableError,
} from "../../src/index";

/** An RPC target whose calls fail with `errors` in turn, then answer; it counts the targets made. */
function flakyTarget(errors: object[]) {
  const made = { targets: 0, calls: 0 };
  const target = (): SessionManagerRpc => {
    made.targets++;
    return {
      has: async () => {
        made.calls++;
        const error = errors.shift();
        if (error !== undefined) throw Object.assign(new Error("rpc failed"), error);
        return { ok: true, value: true };
      },
    } as unknown as SessionManagerRpc;
  };
  return { made, target };
}

describe("RPC retries, as Cloudflare documents them", () => {
  it("retries an error marked retryable on a fresh target", async () => {
    const { made, target } = flakyTarget([{ retryable: true }, { retryable: true }]);
    await expect(rpcTransport("app", target).has("k")).resolves.toBe(true);
    expect(made.calls).toBe(3);
    expect(made.targets).toBe(3);
  });

  it("never retries an overloaded object, and says it is overloaded (503)", async () => {
    const { made, target } = flakyTarget([{ retryable: true, overloaded: true }]);
    const error = await rpcTransport("app", target)
      .has("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionOverloadedError);
    expect(error).toMatchObject({ code: "service_overloaded", status: 503 });
    expect((error as Error).cause).toMatchObject({ overloaded: true });
    expect(made.calls).toBe(1);
  });

  it("never retries an error that is not marked retryable", async () => {
    const { made, target } = flakyTarget([{}]);
    await expect(rpcTransport("app", target).has("k")).rejects.toThrow("rpc failed");
    expect(made.calls).toBe(1);
  });

  it("never retries a change, which might have been applied already", async () => {
    const made = { calls: 0 };
    const target = () =>
      ({
        commit: async () => {
          made.calls++;
          throw Object.assign(new Error("connection lost"), { retryable: true });
        },
      }) as unknown as SessionManagerRpc;
    const changes = { key: "k", sid: null, version: 0, set: { n: 1 } };
    await expect(rpcTransport("app", target).commit(changes)).rejects.toThrow(
      SessionUnavailableError,
    );
    expect(made.calls).toBe(1);
  });

  it("gives up after a few retries", async () => {
    const { made, target } = flakyTarget(Array.from({ length: 10 }, () => ({ retryable: true })));
    await expect(rpcTransport("app", target).has("k")).rejects.toMatchObject({
      code: "service_unavailable",
      status: 503,
    });
    expect(made.calls).toBe(4);
  });
});

describe("typed errors of an unreachable session service", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("RPC: a lost connection is SessionUnavailableError (503), naming the runtime's words", async () => {
    const target = () =>
      ({
        get: async () => {
          throw new Error("Network connection lost.");
        },
      }) as unknown as SessionManagerRpc;
    const error = await rpcTransport("app", target)
      .get("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionUnavailableError);
    expect(error).toMatchObject({ code: "service_unavailable", status: 503 });
    expect((error as Error).message).toContain("Network connection lost.");
  });

  it("RPC: a missing binding is SessionUnavailableError, not a TypeError", async () => {
    const target = () => undefined as unknown as SessionManagerRpc;
    await expect(rpcTransport("app", target).query("k")).rejects.toThrow(SessionUnavailableError);
  });

  it("RPC: a call that does not answer within the timeout is SessionTimeoutError (504)", async () => {
    vi.useFakeTimers();
    const target = () => ({ get: () => new Promise(() => {}) }) as unknown as SessionManagerRpc;
    const pending = rpcTransport("app", target, { callTimeout: 5_000 })
      .get("k")
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    const error = await pending;
    expect(error).toBeInstanceOf(SessionTimeoutError);
    expect(error).toMatchObject({ code: "service_timeout", status: 504 });
  });

  it("refuses a timeout that is not a positive number", () => {
    const target = () => ({}) as SessionManagerRpc;
    expect(() => rpcTransport("app", target, { callTimeout: 0 })).toThrow(/callTimeout/);
    expect(() => httpTransport("https://x.test", "app", { token: "t", callTimeout: -1 })).toThrow(
      /callTimeout/,
    );
  });

  /** An HTTP transport over a `fetch` that does what the test says. */
  const http = (fetch: typeof globalThis.fetch, callTimeout?: number) =>
    httpTransport("https://sessions.test", "app", { token: "t", fetch, callTimeout });

  it("HTTP: a network failure is SessionUnavailableError (503)", async () => {
    const fetch = async () => {
      throw new TypeError("fetch failed");
    };
    const error = await http(fetch)
      .get("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionUnavailableError);
    expect((error as Error).message).toContain("fetch failed");
  });

  it("HTTP: a proxy's 502 page and the API's own 503 are SessionUnavailableError", async () => {
    const proxy = async () => new Response("<html>Bad gateway</html>", { status: 502 });
    await expect(http(proxy).get("k")).rejects.toMatchObject({
      code: "service_unavailable",
      status: 502,
    });
    const api = async () =>
      Response.json(
        { error: { code: "not_configured", message: "No API token is configured." } },
        { status: 503 },
      );
    const error = await http(api)
      .get("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionUnavailableError);
    expect(error).toMatchObject({ code: "not_configured", status: 503 });
  });

  it("HTTP: an answer without the API's error body, or with a code unknown here, is unknown_error with its status", async () => {
    const page = async () => new Response("<html>Not found</html>", { status: 404 });
    await expect(http(page).get("k")).rejects.toMatchObject({ code: "unknown_error", status: 404 });
    const newer = (status: number) => async () =>
      Response.json({ error: { code: "from_a_newer_api", message: "Later." } }, { status });
    await expect(http(newer(409)).get("k")).rejects.toMatchObject({
      code: "unknown_error",
      status: 409,
      message: "Later.",
    });
    const error = await http(newer(503))
      .get("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionUnavailableError);
    expect(error).toMatchObject({ code: "unknown_error", status: 503 });
  });

  it("HTTP: 429 is SessionOverloadedError, 504 is SessionTimeoutError", async () => {
    await expect(
      http(async () => new Response("slow down", { status: 429 })).get("k"),
    ).rejects.toThrow(SessionOverloadedError);
    await expect(
      http(async () => new Response("gateway timeout", { status: 504 })).get("k"),
    ).rejects.toThrow(SessionTimeoutError);
  });

  it("HTTP: no answer within the timeout is SessionTimeoutError (the request is aborted)", async () => {
    let aborted = false;
    const fetch = (_url: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => {
          aborted = true;
          reject(init.signal?.reason);
        });
      });
    const error = await http(fetch as typeof globalThis.fetch, 20)
      .get("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionTimeoutError);
    expect(aborted).toBe(true);
  });
});
