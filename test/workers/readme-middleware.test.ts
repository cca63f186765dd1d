// The middleware snippet of docs/hono.md, run as a consumer Worker runs it: its sessions kept by the
// session worker through a real service binding (`env.SESSIONS`, vitest.config.ts).
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { type SessionEnv, sessions } from "../../src/hono/index";
import { ServiceSessionManagerFactory, type SessionManagerRpc, unwrap } from "../../src/index";
import app, { type Env } from "./readme-middleware";

const bindings: Env = {
  SESSIONS: env.SESSIONS,
  SESSION_SECRET: "a-test-secret-for-the-readme-snippet-0123456789",
};
const service = env.SESSIONS as unknown as SessionManagerRpc;

/** A form post from the app's own pages, as a browser sends it (Hono's csrf() checks Origin). */
function post(path: string, cookie?: string) {
  const headers: Record<string, string> = { origin: "http://localhost" };
  if (cookie !== undefined) headers.cookie = cookie;
  return app.request(path, { method: "POST", headers }, bindings);
}

/** How many sessions the README's app ("shop") stores now. */
async function storedSessions(): Promise<number> {
  const stats = await service.stats("shop");
  return stats.ok ? stats.value.sessions : 0;
}

/** The count stored for the session a `sid=<id>.<signature>` cookie names. */
async function storedCount(cookie: string): Promise<unknown> {
  const id = cookie.slice("sid=".length).split(".")[0] as string;
  return unwrap(await service.query("shop", id))?.data.count;
}

describe("the README's middleware snippet in a consumer Worker", () => {
  it("answers 8 concurrent increments with one cookie with no 5xx, and loses no increment it acknowledged", async () => {
    const first = await post("/count");
    expect(await first.json()).toEqual({ count: 1 });
    const cookie = first.headers.get("set-cookie")?.split(";")[0] as string;

    const responses = await Promise.all(Array.from({ length: 8 }, () => post("/count", cookie)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const acknowledged: number[] = [];
    for (const response of responses) {
      const body = (await response.json()) as { count?: number; error?: { code: string } };
      if (response.status === 200) acknowledged.push(body.count as number);
      else expect(body.error?.code).toBe("session_conflict");
    }
    // Every 200 is a stored increment: the count is 1 + the number acknowledged, and each
    // acknowledged value was a distinct step on the way.
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(await storedCount(cookie)).toBe(1 + acknowledged.length);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    expect(Math.max(...acknowledged)).toBe(1 + acknowledged.length);
  });

  it("logs in with a rotated ID that keeps the count, and logs out", async () => {
    const first = await post("/count");
    const cookie = first.headers.get("set-cookie")?.split(";")[0] as string;
    const login = await post("/login", cookie);
    expect(login.status).toBe(303);
    const rotated = login.headers.get("set-cookie")?.split(";")[0] as string;
    expect(rotated).not.toBe(cookie);
    expect(await storedCount(rotated)).toBe(1);
    expect(await storedCount(cookie)).toBeUndefined();
    const logout = await post("/logout", rotated);
    expect(logout.headers.get("set-cookie")).toMatch(/^sid=; Max-Age=0/);
    expect(await storedCount(rotated)).toBeUndefined();
  });

  it("refuses a form posted from another site (Hono's csrf()), and stores nothing", async () => {
    const before = await storedSessions();
    const response = await app.request(
      "/count",
      {
        method: "POST",
        headers: {
          origin: "https://evil.example",
          "content-type": "application/x-www-form-urlencoded",
        },
      },
      bindings,
    );
    expect(response.status).toBe(403);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await storedSessions()).toBe(before);
  });

  it("answers a Worker whose SESSION_SECRET is not set with an error that names the secret option", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const unset = { SESSIONS: env.SESSIONS } as unknown as Env; // no SESSION_SECRET binding
      const response = await app.request(
        "/count",
        { method: "POST", headers: { origin: "http://localhost" } },
        unset,
      );
      expect(response.status).toBe(500);
      const error = logged.mock.calls.flat().find((arg) => arg instanceof Error) as Error;
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/the `secret` option gave no secret \(undefined\)/);
      expect(error.message).toContain("SESSION_SECRET");
      expect(error.message).not.toMatch(/Cannot read properties/);
    } finally {
      logged.mockRestore();
    }
  });

  it("has session.id undefined until the session is loaded, then the ID its cookie names, as the README says", async () => {
    const ids = new Hono<{ Bindings: Env } & SessionEnv>();
    ids.use(
      sessions({
        factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, "shop"),
        secret: (c) => c.env.SESSION_SECRET,
      }),
    );
    ids.post("/id", async (c) => {
      const session = c.get("session");
      const before = session.id ?? null;
      await session.data();
      const loaded = session.id;
      await session.set("seen", true);
      return c.json({ before, loaded });
    });
    const first = await ids.request("/id", { method: "POST" }, bindings);
    const cookie = first.headers.get("set-cookie")?.split(";")[0] as string;
    const firstIds = (await first.json()) as { before: string | null; loaded: string };
    expect(firstIds.before).toBeNull();
    expect(cookie).toBe(`sid=${firstIds.loaded}.${cookie.split(".")[1]}`);

    const again = await ids.request("/id", { method: "POST", headers: { cookie } }, bindings);
    expect(await again.json()).toEqual({ before: null, loaded: firstIds.loaded });
  });
});
