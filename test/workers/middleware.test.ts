import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { rpcTransport } from "../../src/client/rpc-transport";
import type { SessionTransport } from "../../src/client/transport";
import { CookieSigner } from "../../src/hono/cookie-signature";
import {
  type Session,
  type SessionEnv,
  type SessionsOptions,
  sessions,
} from "../../src/hono/index";
import {
  ConflictError,
  DurableObjectSessionManagerFactory,
  SessionError,
  SessionManagerFactory,
  type SessionManagerRpc,
  type SessionObjectNamespace,
  SessionRouter,
  unwrap,
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
    expect(await storedSessions(factory.app)).toBe(0);
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
    const { app, factory } = edgeApp();
    const res = await app.request("/fail", { method: "POST" });
    expect(res.status).toBe(500);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await storedSessions(factory.app)).toBe(0);
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

/** A Hono app over its own app name, with routes for the behaviours below. */
function behaviourApp(
  options: Partial<SessionsOptions> = {},
  transport?: SessionTransport,
  { defaultErrorHandler = false } = {},
) {
  appCounter++;
  const appName = `mw-b-${appCounter}`;
  const factory =
    transport === undefined
      ? new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, appName)
      : new SessionManagerFactory(appName, transport);
  const app = new Hono<SessionEnv<{ n: number; a: string; b: string }>>();
  const runs = { inc: 0 };
  let gate: (() => Promise<void>) | undefined;
  app.use(sessions({ factory, secret: SECRET, ...options }));
  // Hono's default error handler, without its log line for the errors these tests throw.
  if (!defaultErrorHandler) {
    app.onError((error, c) =>
      error instanceof SessionError ? error.getResponse() : c.text("failed", 500),
    );
  }
  app.get("/read", async (c) => {
    const session = c.get("session");
    return c.json({ n: (await session.get("n")) ?? null, a: (await session.get("a")) ?? null });
  });
  app.post("/set", async (c) => {
    await c.get("session").set("a", c.req.query("a") ?? "x");
    return c.text("ok");
  });
  app.post("/inc", async (c) => {
    const session = c.get("session");
    const n = ((await session.get("n")) ?? 0) + 1;
    runs.inc++;
    if (gate !== undefined) await gate();
    await session.set("n", n);
    c.header("x-handler", "inc");
    return c.json({ n });
  });
  app.post("/inc-and-save", async (c) => {
    const session = c.get("session");
    const n = ((await session.get("n")) ?? 0) + 1;
    if (gate !== undefined) await gate();
    await session.set("n", n);
    await session.save(); // a conflict here propagates: the middleware answers it
    return c.json({ n });
  });
  app.post("/regenerate-then-throw", async (c) => {
    const session = c.get("session");
    await session.set("a", "changed");
    await session.regenerate();
    await session.set("b", "added");
    throw new Error("the handler failed after regenerate()");
  });
  app.post("/destroy-then-throw", async (c) => {
    await c.get("session").destroy();
    throw new Error("the handler failed after destroy()");
  });
  app.post("/save-then-throw", async (c) => {
    const session = c.get("session");
    await session.set("a", "saved");
    await session.save();
    await session.set("b", "not saved");
    throw new Error("the handler failed after save()");
  });
  app.post("/reload", async (c) => {
    const session = c.get("session");
    await session.set("a", "dropped");
    await session.reload();
    return c.json({ a: (await session.get("a")) ?? null });
  });
  app.post("/delete", async (c) => {
    const session = c.get("session");
    const had = await session.has("a");
    const deleted = await session.delete("a");
    return c.json({ had, deleted, has: await session.has("a") });
  });
  app.post("/clear", async (c) => {
    const session = c.get("session");
    await session.clear();
    return c.json({ id: session.id });
  });
  app.get("/touch", async (c) => {
    await c.get("session").touch();
    return c.text("touched");
  });
  app.post("/destroy-then-set", async (c) => {
    const session = c.get("session");
    await session.destroy();
    await session.set("a", "after");
    return c.text("unreachable");
  });
  return {
    app,
    factory,
    runs,
    /** Holds each run of /inc after its read until `count` runs have read. */
    holdInc(count: number) {
      let arrived = 0;
      let release = () => {};
      const all = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = async () => {
        if (++arrived === count) release();
        if (arrived <= count) await all;
      };
    },
  };
}

/** The session ID in a `sid=<id>.<signature>` cookie pair. */
/** Sessions `app` stores now (0 for an app never stored), read from its object. */
async function storedSessions(app: string): Promise<number> {
  const stats = await new SessionRouter(env.SESSION_MANAGER).stats(app);
  if (stats.ok) return stats.value.sessions;
  expect(stats.error.code).toBe("app_not_found");
  return 0;
}

function idOf(cookie: string): string {
  return cookie.slice("sid=".length).split(".")[0] as string;
}

describe("sessions() middleware: one canonical cookie value", () => {
  /** The three other spellings of the last base64url character, with the same 256 bits. */
  function sameBits(text: string): string[] {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(text.at(-1) as string);
    return [1, 2, 3].map((low) => `${text.slice(0, -1)}${alphabet[last + low]}`);
  }

  it("opens the session only for the exact value it sent", async () => {
    const { app } = makeApp();
    const cookie = cookieOf(await app.request("/write?name=ann", { method: "POST" })) as string;
    const [id, signature] = cookie.slice("sid=".length).split(".") as [string, string];
    const altered = [
      ...sameBits(signature).map((sig) => `sid=${id}.${sig}`),
      ...sameBits(id).map((other) => `sid=${other}.${signature}`),
      `sid=${id}%2E${signature}`,
      `sid=${id}%2e${signature}`,
      `sid=%${id.charCodeAt(0).toString(16)}${id.slice(1)}.${signature}`,
      `sid="${id}.${signature}"`,
      `sid=${id}.${signature}=`,
      `sid=${id}=.${signature}`,
      `sid=${id}.${signature.replace(/-/g, "+").replace(/_/g, "/")}+`,
      `sid=${id}..${signature}`,
      `sid=${id}.${signature}.${signature}`,
    ];
    for (const bad of altered) {
      const read = await app.request("/read", { headers: { cookie: bad } });
      expect(await read.json(), bad).toEqual({ name: null });
    }
    const good = await app.request("/read", { headers: { cookie } });
    expect(await good.json()).toEqual({ name: "ann" });
  });

  it("reads its own cookie among others, and the first of two with its name", async () => {
    const { app } = makeApp();
    const cookie = cookieOf(await app.request("/write?name=ann", { method: "POST" })) as string;
    const read = await app.request("/read", {
      headers: { cookie: `theme=dark; ${cookie}; sid=garbage; other=1` },
    });
    expect(await read.json()).toEqual({ name: "ann" });
  });
});

describe("sessions() middleware: changes take effect at commit, all or nothing", () => {
  it("leaves the session and the cookie as they were when the handler throws after regenerate()", async () => {
    const { app, factory } = behaviourApp();
    const cookie = cookieOf(await app.request("/set?a=before", { method: "POST" })) as string;
    const failed = await app.request("/regenerate-then-throw", {
      method: "POST",
      headers: { cookie },
    });
    expect(failed.status).toBe(500);
    expect(failed.headers.get("set-cookie")).toBeNull();
    const manager = await factory.open();
    expect((await manager.query(idOf(cookie)))?.toJSON()).toEqual({ a: "before" });
    const stats = await new SessionRouter(env.SESSION_MANAGER).stats(factory.app);
    expect(stats.ok && stats.value.sessions).toBe(1);
    const read = await app.request("/read", { headers: { cookie } });
    expect(await read.json()).toEqual({ n: null, a: "before" });
  });

  it("keeps the session when the handler throws after destroy()", async () => {
    const { app, factory } = behaviourApp();
    const cookie = cookieOf(await app.request("/set?a=kept", { method: "POST" })) as string;
    const failed = await app.request("/destroy-then-throw", {
      method: "POST",
      headers: { cookie },
    });
    expect(failed.status).toBe(500);
    expect(failed.headers.get("set-cookie")).toBeNull();
    expect(await (await factory.open()).has(idOf(cookie))).toBe(true);
  });

  it("rotates with the changes in one commit, and the cookie names the stored session", async () => {
    const { app, factory } = behaviourApp();
    app.post("/login", async (c) => {
      const session = c.get("session");
      await session.regenerate();
      await session.set("b", "user");
      return c.json({ id: session.id });
    });
    const cookie = cookieOf(await app.request("/set?a=cart", { method: "POST" })) as string;
    const login = await app.request("/login", { method: "POST", headers: { cookie } });
    const { id } = (await login.json()) as { id: string };
    const rotated = cookieOf(login) as string;
    expect(idOf(rotated)).toBe(id);
    expect(id).not.toBe(idOf(cookie));
    const manager = await factory.open();
    expect((await manager.query(id))?.toJSON()).toEqual({ a: "cart", b: "user" });
    expect(await manager.has(idOf(cookie))).toBe(false);
  });

  it("keeps what save() stored when the handler throws later, and sends its cookie", async () => {
    const { app, factory } = behaviourApp();
    const failed = await app.request("/save-then-throw", { method: "POST" });
    expect(failed.status).toBe(500);
    const cookie = cookieOf(failed) as string;
    expect(cookie).toMatch(/^sid=/);
    expect((await (await factory.open()).query(idOf(cookie)))?.toJSON()).toEqual({ a: "saved" });
  });

  it("reload() drops the request's unsaved changes", async () => {
    const { app } = behaviourApp();
    const cookie = cookieOf(await app.request("/set?a=stored", { method: "POST" })) as string;
    const res = await app.request("/reload", { method: "POST", headers: { cookie } });
    expect(await res.json()).toEqual({ a: "stored" });
    const read = await app.request("/read", { headers: { cookie } });
    expect(await read.json()).toEqual({ n: null, a: "stored" });
  });

  it("has(), delete() and clear() work on the session itself", async () => {
    const { app, factory } = behaviourApp();
    const cookie = cookieOf(await app.request("/set?a=x", { method: "POST" })) as string;
    const res = await app.request("/delete", { method: "POST", headers: { cookie } });
    expect(await res.json()).toEqual({ had: true, deleted: true, has: false });
    await app.request("/set?a=y", { method: "POST", headers: { cookie } });
    const cleared = await app.request("/clear", { method: "POST", headers: { cookie } });
    expect(await cleared.json()).toEqual({ id: idOf(cookie) });
    expect((await (await factory.open()).query(idOf(cookie)))?.toJSON()).toEqual({});
  });

  it("rolling: false sends a persistent cookie again only when the handler calls touch()", async () => {
    const { app } = behaviourApp({ rolling: false, cookie: { maxAge: 3600 } });
    const cookie = cookieOf(await app.request("/set", { method: "POST" })) as string;
    const read = await app.request("/read", { headers: { cookie } });
    expect(read.headers.get("set-cookie")).toBeNull();
    const touched = await app.request("/touch", { headers: { cookie } });
    expect(touched.headers.get("set-cookie")).toMatch(/^sid=[^;]+; Max-Age=3600/);
    expect(cookieOf(touched)).toBe(cookie);
  });

  it("keeps the session ID out of the message of an error the handler meets", async () => {
    const { app } = behaviourApp();
    const seen: string[] = [];
    app.onError((error, c) => {
      seen.push(`${error.message}\n${error.stack ?? ""}\n${JSON.stringify(error)}`);
      return c.text("failed", 500);
    });
    const cookie = cookieOf(await app.request("/set?a=secret-value", { method: "POST" })) as string;
    const res = await app.request("/destroy-then-set", { method: "POST", headers: { cookie } });
    expect(res.status).toBe(500);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain("[session id]");
    expect(seen[0]).not.toContain(idOf(cookie));
    expect(seen[0]).not.toContain("secret-value");
  });
});

describe("sessions() middleware: conflicts are an answer, not a crash", () => {
  /** Two POST /inc with one cookie, both reading before either commits. */
  async function twoIncrements(setup: ReturnType<typeof behaviourApp>) {
    const cookie = cookieOf(await setup.app.request("/set", { method: "POST" })) as string;
    setup.holdInc(2);
    const responses = await Promise.all(
      [0, 1].map(() => setup.app.request("/inc", { method: "POST", headers: { cookie } })),
    );
    return { cookie, responses };
  }

  it("answers 409 with a clear JSON body by default, stores nothing of it, and leaks nothing", async () => {
    const setup = behaviourApp();
    const { cookie, responses } = await twoIncrements(setup);
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const refused = responses.find((r) => r.status === 409) as Response;
    const body = await refused.text();
    expect(JSON.parse(body)).toEqual({
      error: { code: "session_conflict", message: expect.stringMatching(/at the same time/) },
    });
    expect(body).not.toContain(idOf(cookie));
    // The handler's own response (its header, its body) was dropped.
    expect(refused.headers.get("x-handler")).toBeNull();
    expect(refused.headers.get("set-cookie")).toBeNull();
    const read = await setup.app.request("/read", { headers: { cookie } });
    expect(await read.json()).toMatchObject({ n: 1 });
    // Both wrote n = 1: the version tells them apart. Stored by /set (1), then by one /inc (2).
    const session = unwrap(
      await new SessionRouter(env.SESSION_MANAGER).query(setup.factory.app, idOf(cookie)),
    );
    expect(session?.version).toBe(2);
  });

  it("answers what onConflict gives, with an error that carries no ID and no data", async () => {
    const seen: unknown[] = [];
    const setup = behaviourApp({
      onConflict: (c, conflict) => {
        seen.push(conflict);
        return c.text("busy, try again", 409);
      },
    });
    const { cookie, responses } = await twoIncrements(setup);
    const refused = responses.find((r) => r.status === 409) as Response;
    expect(await refused.text()).toBe("busy, try again");
    expect(seen).toHaveLength(1);
    const conflict = seen[0] as ConflictError;
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.keys).toEqual(["n"]);
    const printed = `${conflict.message} ${conflict.stack} ${JSON.stringify(conflict)} ${JSON.stringify(Object.entries(conflict))}`;
    expect(printed).not.toContain(idOf(cookie));
    expect(printed).not.toMatch(/"n":\s*1/);
  });

  it("retry re-runs the handler on the stored session, and drops the first response", async () => {
    const setup = behaviourApp({ retry: 1 });
    const { cookie, responses } = await twoIncrements(setup);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    const counts = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { n: number }).n),
    );
    expect(counts.sort()).toEqual([1, 2]);
    expect(setup.runs.inc).toBe(3);
    const read = await setup.app.request("/read", { headers: { cookie } });
    expect(await read.json()).toMatchObject({ n: 2 });
  });

  it("with retry: 7, 8 concurrent increments that all read first all succeed, and none is lost", async () => {
    const setup = behaviourApp({ retry: 7 });
    const cookie = cookieOf(await setup.app.request("/set", { method: "POST" })) as string;
    setup.holdInc(8);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        setup.app.request("/inc", { method: "POST", headers: { cookie } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const counts = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { n: number }).n),
    );
    expect(counts.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const read = await setup.app.request("/read", { headers: { cookie } });
    expect(await read.json()).toMatchObject({ n: 8 });
  });

  it("answers a conflict that save() met and the handler let through as any conflict: 409", async () => {
    const setup = behaviourApp();
    const cookie = cookieOf(await setup.app.request("/set", { method: "POST" })) as string;
    setup.holdInc(2);
    const responses = await Promise.all(
      [0, 1].map(() => setup.app.request("/inc-and-save", { method: "POST", headers: { cookie } })),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
    const refused = responses.find((r) => r.status === 409) as Response;
    expect(await refused.json()).toMatchObject({ error: { code: "session_conflict" } });
  });

  it("refuses a retry that is not a whole number", () => {
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "mw-bad-retry");
    expect(() => sessions({ factory, secret: SECRET, retry: -1 })).toThrow(/retry/);
    expect(() => sessions({ factory, secret: SECRET, retry: 1.5 })).toThrow(/retry/);
  });
});

describe("sessions() middleware: a session service that fails, fails closed", () => {
  /** A transport over the real objects whose `method` fails as a dropped connection does. */
  function failing(method: keyof SessionManagerRpc): SessionTransport {
    const router = new SessionRouter(env.SESSION_MANAGER);
    const target = new Proxy(router, {
      get(object, property) {
        if (property === method) {
          return async () => {
            throw new Error("Network connection lost.");
          };
        }
        const value = Reflect.get(object, property);
        return typeof value === "function" ? value.bind(object) : value;
      },
    });
    return rpcTransport(`mw-b-${appCounter + 1}`, () => target);
  }

  it("answers 503 with a typed JSON error when the session cannot be loaded (no onError needed)", async () => {
    const { app } = behaviourApp({}, failing("query"), { defaultErrorHandler: true });
    const cookie = cookieOf(await app.request("/set", { method: "POST" })) as string;
    const res = await app.request("/read", { headers: { cookie } });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: {
        code: "service_unavailable",
        message: expect.stringContaining("Network connection lost."),
      },
    });
  });

  it("never sends the handler's response when its changes could not be stored", async () => {
    const { app } = behaviourApp({}, failing("commit"), { defaultErrorHandler: true });
    const res = await app.request("/inc", { method: "POST" });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-handler")).toBeNull();
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "service_unavailable",
    );
  });
});

describe("sessions() middleware: options", () => {
  it("builds a factory given as a function once per env object", async () => {
    appCounter++;
    const appName = `mw-f-${appCounter}`;
    let built = 0;
    const app = new Hono();
    app.use(
      sessions({
        factory: () => {
          built++;
          return new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, appName);
        },
        secret: (c) => (c.env as { SECRET: string }).SECRET,
      }),
    );
    app.post("/write", async (c) => {
      await c.get("session").set("n", 1);
      return c.text("ok");
    });
    const one = { SECRET };
    const two = { SECRET: OLD_SECRET };
    for (let i = 0; i < 3; i++) await app.request("/write", { method: "POST" }, one);
    expect(built).toBe(1);
    const res = await app.request("/write", { method: "POST" }, two);
    expect(built).toBe(2);
    const id = idOf(cookieOf(res) as string);
    expect(await new CookieSigner([OLD_SECRET]).verify((cookieOf(res) as string).slice(4))).toBe(
      id,
    );
  });

  it("types the session's data", () => {
    const session = {} as Session<{ user: string; count: number }>;
    expectTypeOf(session.get).parameter(0).toEqualTypeOf<"user" | "count">();
    expectTypeOf(session.get<"user">).returns.toEqualTypeOf<Promise<string | undefined>>();
    expectTypeOf(session.get<"count">).returns.toEqualTypeOf<Promise<number | undefined>>();
    // @ts-expect-error a count is a number
    const wrong: Parameters<typeof session.set<"count">>[1] = "three";
    expect(wrong).toBe("three");
    // An interface with optional keys fits too; a field that is no JSON value does not.
    interface Prefs {
      theme?: "dark" | "light";
    }
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "mw-types");
    expectTypeOf(sessions<Prefs>({ factory, secret: SECRET })).toBeFunction();
    // @ts-expect-error a Date is not a JSON value
    expectTypeOf(sessions<{ at: Date }>({ factory, secret: SECRET })).toBeFunction();
  });
});
