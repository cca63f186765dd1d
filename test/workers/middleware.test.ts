import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { CookieSigner, sessions } from "../../src/hono/index";
import {
  DurableObjectSessionManagerFactory,
  type SessionObjectNamespace,
  SessionRouter,
} from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";
const OLD_SECRET = "an-older-secret-that-is-long-enough-987654321";

/** Counts calls to the session manager, to show which requests make none. */
function countingNamespace() {
  const counter = { calls: 0 };
  const namespace: SessionObjectNamespace = {
    getByName(name: string) {
      counter.calls++;
      return env.SESSION_MANAGER.getByName(name);
    },
  };
  return { counter, namespace };
}

let appCounter = 0;
function makeApp(options: { secret?: string | string[]; maxAge?: number } = {}) {
  appCounter++;
  const appName = `mw-${appCounter}`;
  const { counter, namespace } = countingNamespace();
  const factory = new DurableObjectSessionManagerFactory(namespace, appName);
  const app = new Hono();
  app.use(
    sessions({
      factory,
      secret: options.secret ?? SECRET,
      maxAge: options.maxAge,
      clock: () => testClock.now,
    }),
  );
  app.get("/plain", (c) => c.text("no session here"));
  app.get("/read", async (c) => c.json({ name: (await c.get("session").get("name")) ?? null }));
  app.post("/write", async (c) => {
    await c.get("session").set("name", c.req.query("name") ?? "fred");
    return c.text("ok");
  });
  app.post("/login", async (c) => {
    const session = c.get("session");
    await session.regenerate();
    await session.set("user", "fred");
    return c.json({ id: session.id });
  });
  app.post("/logout", async (c) => {
    await c.get("session").destroy();
    return c.text("bye");
  });
  app.post("/flash", async (c) => {
    await c.get("session").flash("notice", "saved");
    return c.text("ok");
  });
  app.get("/flash", async (c) =>
    c.json({ notice: (await c.get("session").flash("notice")) ?? null }),
  );
  app.get("/id", async (c) => {
    await c.get("session").data();
    return c.json({ id: c.get("session").id });
  });
  return { app, counter, factory };
}

/** The `sid` cookie pair a response sets, e.g. `sid=abc.sig`. */
function cookieOf(response: Response): string | undefined {
  const header = response.headers.get("set-cookie");
  return header?.split(";")[0];
}

beforeEach(() => {
  testClock.now = T0;
});

describe("sessions() middleware", () => {
  it("round-trips a signed cookie carrying a 256-bit random ID", async () => {
    const { app } = makeApp();
    const first = await app.request("/write?name=ann", { method: "POST" });
    const header = first.headers.get("set-cookie") ?? "";
    expect(header).toMatch(/^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+; /);
    expect(header).toContain("HttpOnly");
    expect(header).toContain("Secure");
    expect(header).toContain("SameSite=Lax");
    expect(header).toContain("Path=/");
    const cookie = cookieOf(first) as string;
    const read = await app.request("/read", { headers: { cookie } });
    expect(await read.json()).toEqual({ name: "ann" });
    expect(read.headers.get("set-cookie")).toBeNull();
  });

  it("makes no call to the session manager for a request that never touches the session", async () => {
    const { app, counter } = makeApp();
    const written = await app.request("/write", { method: "POST" });
    const cookie = cookieOf(written) as string;
    counter.calls = 0;
    const response = await app.request("/plain", { headers: { cookie } });
    expect(await response.text()).toBe("no session here");
    expect(counter.calls).toBe(0);
    expect(response.headers.get("set-cookie")).toBeNull();
  });

  it("sets no cookie and stores nothing when a new session is only read", async () => {
    const { app, factory } = makeApp();
    const response = await app.request("/id");
    const { id } = (await response.json()) as { id: string };
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await (await factory.open()).has(id)).toBe(false);
  });

  it("treats a tampered cookie as no session, and gives a new ID when the handler writes", async () => {
    const { app } = makeApp();
    const cookie = cookieOf(await app.request("/write?name=ann", { method: "POST" })) as string;
    const [pair, signature] = cookie.split(".") as [string, string];
    const flipped = `${pair}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`;
    for (const bad of [
      flipped,
      `${pair}.`,
      pair,
      "sid=garbage",
      `${pair.slice(0, -1)}x.${signature}`,
    ]) {
      const read = await app.request("/read", { headers: { cookie: bad } });
      expect(await read.json()).toEqual({ name: null });
    }
    const rewritten = await app.request("/write?name=eve", {
      method: "POST",
      headers: { cookie: flipped },
    });
    expect(cookieOf(rewritten)).not.toBe(cookie);
    const original = await app.request("/read", { headers: { cookie } });
    expect(await original.json()).toEqual({ name: "ann" });
  });

  it("refuses cookies signed with a foreign secret, and accepts a rotated one", async () => {
    const { app } = makeApp({ secret: [SECRET, OLD_SECRET] });
    const cookie = cookieOf(await app.request("/write?name=ann", { method: "POST" })) as string;
    const id = cookie.slice("sid=".length).split(".")[0] as string;
    const byOld = `sid=${await new CookieSigner([OLD_SECRET]).sign(id)}`;
    const byForeign = `sid=${await new CookieSigner(["x".repeat(40)]).sign(id)}`;
    expect(await (await app.request("/read", { headers: { cookie: byOld } })).json()).toEqual({
      name: "ann",
    });
    expect(await (await app.request("/read", { headers: { cookie: byForeign } })).json()).toEqual({
      name: null,
    });
  });

  it("regenerate() keeps the data under a new ID and ends the old one", async () => {
    const { app, factory } = makeApp();
    const cookie = cookieOf(await app.request("/write?name=ann", { method: "POST" })) as string;
    const oldId = cookie.slice("sid=".length).split(".")[0] as string;
    const login = await app.request("/login", { method: "POST", headers: { cookie } });
    const newCookie = cookieOf(login) as string;
    const { id } = (await login.json()) as { id: string };
    expect(id).not.toBe(oldId);
    expect(newCookie.slice("sid=".length).split(".")[0]).toBe(id);
    const manager = await factory.open();
    expect(await manager.has(oldId)).toBe(false);
    const moved = await manager.get(id);
    expect(moved.toJSON()).toEqual({ name: "ann", user: "fred" });
    const stale = await app.request("/read", { headers: { cookie } });
    expect(await stale.json()).toEqual({ name: null });
  });

  it("destroy() ends the session and clears the cookie", async () => {
    const { app, factory } = makeApp();
    const cookie = cookieOf(await app.request("/write", { method: "POST" })) as string;
    const id = cookie.slice("sid=".length).split(".")[0] as string;
    const out = await app.request("/logout", { method: "POST", headers: { cookie } });
    expect(out.headers.get("set-cookie")).toMatch(/^sid=; Max-Age=0/);
    expect(await (await factory.open()).has(id)).toBe(false);
  });

  it("flash() keeps a message for the next request, which reads it once", async () => {
    const { app } = makeApp();
    const cookie = cookieOf(await app.request("/flash", { method: "POST" })) as string;
    const first = await app.request("/flash", { headers: { cookie } });
    expect(await first.json()).toEqual({ notice: "saved" });
    const second = await app.request("/flash", { headers: { cookie } });
    expect(await second.json()).toEqual({ notice: null });
  });

  it("maxAge ends a session past its absolute lifetime, however active", async () => {
    const { app, factory } = makeApp({ maxAge: 3600 });
    const cookie = cookieOf(await app.request("/write?name=ann", { method: "POST" })) as string;
    const id = cookie.slice("sid=".length).split(".")[0] as string;
    // Active every 1000 s: the inactivity timeout (1200 s) alone would never end it.
    for (const t of [1000, 2000, 3000]) {
      testClock.now = T0 + t;
      const read = await app.request("/read", { headers: { cookie } });
      expect(await read.json()).toEqual({ name: "ann" });
    }
    testClock.now = T0 + 3601;
    expect(await (await app.request("/read", { headers: { cookie } })).json()).toEqual({
      name: null,
    });
    expect(await (await factory.open()).has(id)).toBe(false);
  });

  it("refuses a short secret with a clear error", () => {
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "mw-bad");
    expect(() => sessions({ factory, secret: "short" })).toThrow(/at least 32 characters/);
  });
});

describe("sessions() middleware: edges", () => {
  function edgeApp(cookie?: { maxAge?: number }) {
    appCounter++;
    const factory = new DurableObjectSessionManagerFactory(
      env.SESSION_MANAGER,
      `mw-edge-${appCounter}`,
    );
    const app = new Hono();
    app.use(sessions({ factory, secret: SECRET, cookie }));
    app.post("/fail", async (c) => {
      await c.get("session").set("paid", true);
      throw new Error("the handler failed");
    });
    app.post("/rotate-new", async (c) => {
      const session = c.get("session");
      await session.set("cart", ["apple"]);
      await session.regenerate();
      await session.set("user", "ann");
      return c.json({ id: session.id });
    });
    app.post("/write", async (c) => {
      await c.get("session").set("n", 1);
      return c.text("ok");
    });
    app.get("/read", async (c) => c.json({ n: (await c.get("session").get("n")) ?? null }));
    app.onError((error, c) => c.text(error.message, 500));
    return { app, factory };
  }

  it("stores nothing and sets no cookie when the handler fails", async () => {
    const { app } = edgeApp();
    const res = await app.request("/fail", { method: "POST" });
    expect(res.status).toBe(500);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("regenerate() of a new, modified session stores one session, under the new ID", async () => {
    const { app, factory } = edgeApp();
    const res = await app.request("/rotate-new", { method: "POST" });
    const { id } = (await res.json()) as { id: string };
    expect(res.headers.get("set-cookie")).toContain(`sid=${id}.`);
    const manager = await factory.open();
    expect((await manager.get(id)).toJSON()).toEqual({ cart: ["apple"], user: "ann" });
    const stats = await new SessionRouter(env.SESSION_MANAGER).stats(factory.app);
    expect(stats.ok && stats.value.sessions).toBe(1);
  });

  it("clears the cookie of a session that is gone when nothing new is stored", async () => {
    const { app, factory } = edgeApp();
    const cookie = cookieOf(await app.request("/write", { method: "POST" })) as string;
    const id = cookie.slice("sid=".length).split(".")[0] as string;
    const manager = await factory.open();
    (await manager.get(id)).invalidate();
    await manager.connection.commit();
    const res = await app.request("/read", { headers: { cookie } });
    expect(await res.json()).toEqual({ n: null });
    expect(res.headers.get("set-cookie")).toMatch(/^sid=; Max-Age=0/);
  });

  it("rolls a persistent cookie forward on every request that reads the session", async () => {
    const { app } = edgeApp({ maxAge: 3600 });
    const cookie = cookieOf(await app.request("/write", { method: "POST" })) as string;
    const res = await app.request("/read", { headers: { cookie } });
    expect(res.headers.get("set-cookie")).toMatch(/^sid=[^;]+; Max-Age=3600/);
    expect(cookieOf(res)).toBe(cookie);
  });
});
