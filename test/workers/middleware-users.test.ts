/**
 * The Hono middleware's users API (docs/hono.md#users-and-devices): `login()` signs the session in
 * with the commit (a new, tagged ID in the cookie, data kept), `user()`, `devices()`,
 * `signOutOthers()` and `signOutDevice(handle)`, over the real objects, in an app with no
 * `app.onError` (typed errors answer with their own status).
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import { type SessionEnv, sessions, type UserSession } from "../../src/hono/index";
import { DurableObjectSessionManagerFactory, SessionRouter } from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";

beforeEach(() => {
  testClock.now = T0;
});

let appCounter = 0;

/** An app over its own app name (4 shards), with the routes a devices page needs. */
function usersApp({
  retry,
  maxSessionsPerUser,
}: {
  retry?: number;
  maxSessionsPerUser?: number;
} = {}) {
  appCounter++;
  const appName = `mwu-${appCounter}`;
  const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, appName, {
    shards: 4,
    ...(maxSessionsPerUser === undefined ? {} : { maxSessionsPerUser }),
  });
  const app = new Hono<SessionEnv<{ n: number; cart: string }>>();
  app.use(sessions({ factory, secret: SECRET, clock: () => testClock.now, retry }));
  app.post("/cart", async (c) => {
    await c.get("session").set("cart", c.req.query("item") ?? "book");
    return c.text("ok");
  });
  app.post("/login", async (c) => {
    const session = c.get("session");
    const body = (await c.req.json().catch(() => ({}))) as { user?: unknown; labels?: unknown };
    await session.login(body.user as string, body.labels as never);
    return c.json({ user: await session.user() });
  });
  app.post("/login-and-throw", async (c) => {
    await c.get("session").login("ann");
    throw new Error("the handler failed after login()");
  });
  app.post("/logout-then-login", async (c) => {
    const session = c.get("session");
    await session.destroy();
    await session.login("ann");
    return c.text("unreachable");
  });
  app.post("/login-and-count", async (c) => {
    const session = c.get("session");
    await session.login("ann");
    await session.set("n", 1);
    await session.save();
    return c.json({ id: session.id, devices: await session.devices() });
  });
  app.get("/me", async (c) => {
    const session = c.get("session");
    return c.json({
      user: await session.user(),
      cart: (await session.get("cart")) ?? null,
      n: (await session.get("n")) ?? null,
    });
  });
  app.get("/devices", async (c) => c.json(await c.get("session").devices()));
  app.post("/sign-out-others", async (c) =>
    c.json({ ended: await c.get("session").signOutOthers() }),
  );
  app.post("/sign-out-device", async (c) => {
    await c.get("session").signOutDevice(c.req.query("handle") as string);
    return c.json({ ended: 1 });
  });
  app.post("/regenerate", async (c) => {
    await c.get("session").regenerate();
    return c.text("ok");
  });
  app.post("/inc", async (c) => {
    const session = c.get("session");
    const n = ((await session.get("n")) ?? 0) + 1;
    await session.set("n", n);
    return c.json({ n });
  });
  app.post("/logout", async (c) => {
    await c.get("session").destroy();
    return c.text("bye");
  });
  return { app, factory, appName };
}

/** The `sid` cookie pair a response sets, e.g. `sid=abc.sig`. */
function cookieOf(response: Response): string | undefined {
  return response.headers.get("set-cookie")?.split(";")[0];
}

function idOf(cookie: string): string {
  return cookie.slice("sid=".length).split(".")[0] as string;
}

type App = ReturnType<typeof usersApp>["app"];

function post(app: App, path: string, cookie?: string, body?: unknown) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (cookie !== undefined) headers.cookie = cookie;
  return app.request(path, {
    method: "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function get(app: App, path: string, cookie: string) {
  return app.request(path, { headers: { cookie } });
}

/** Signs a new browser in as `user`; its cookie. */
async function signIn(app: App, user: string, device: string): Promise<string> {
  const response = await post(app, "/login", undefined, { user, labels: { device } });
  expect(response.status).toBe(200);
  return cookieOf(response) as string;
}

async function storedSessions(app: string): Promise<number> {
  const stats = await new SessionRouter(env.SESSION_MANAGER).stats(app);
  if (stats.ok) return stats.value.sessions;
  expect(stats.error.code).toBe("app_not_found");
  return 0;
}

describe("sessions() middleware: login()", () => {
  it("rotates the cookie to a key with the user's tag, keeps the data, and ends the old ID", async () => {
    const { app, factory, appName } = usersApp();
    const anonymous = cookieOf(await post(app, "/cart?item=lamp")) as string;
    const login = await post(app, "/login", anonymous, { user: "ann", labels: { device: "A" } });
    expect(await login.json()).toEqual({ user: "ann" });
    const cookie = cookieOf(login) as string;
    const key = idOf(cookie);
    expect(key).not.toBe(idOf(anonymous));
    expect(tagOf(key)).toBe(await userTag(appName, "ann"));
    expect(key).toMatch(/^[0-9a-f]{16}![A-Za-z0-9_-]{32}$/);
    expect(cookie).not.toContain("ann");
    expect(await (await get(app, "/me", cookie)).json()).toEqual({
      user: "ann",
      cart: "lamp",
      n: null,
    });
    // The ID from before the login opens nothing any more.
    expect(await (await factory.open()).has(idOf(anonymous))).toBe(false);
    expect(await (await get(app, "/me", anonymous)).json()).toEqual({
      user: null,
      cart: null,
      n: null,
    });
    expect(await storedSessions(appName)).toBe(1);
  });

  it("signs in a browser that has no session yet, in one commit", async () => {
    const { app, appName } = usersApp();
    const cookie = await signIn(app, "ann", "A");
    expect(tagOf(idOf(cookie))).toBe(await userTag(appName, "ann"));
    expect(await (await get(app, "/me", cookie)).json()).toMatchObject({ user: "ann" });
    expect(await storedSessions(appName)).toBe(1);
  });

  it("changes nothing when the handler throws after login()", async () => {
    const { app, factory } = usersApp();
    const anonymous = cookieOf(await post(app, "/cart?item=lamp")) as string;
    // Hono's default error handler logs the handler's error: kept out of the test's output.
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const failed = await post(app, "/login-and-throw", anonymous);
    logged.mockRestore();
    expect(failed.status).toBe(500);
    expect(failed.headers.get("set-cookie")).toBeNull();
    expect(await (await get(app, "/me", anonymous)).json()).toEqual({
      user: null,
      cart: "lamp",
      n: null,
    });
    await expect((await factory.open()).userSessions("ann")).rejects.toMatchObject({
      code: "user_not_found",
    });
  });

  it("takes effect at save(): the new ID is known, and devices() lists this session as current", async () => {
    const { app } = usersApp();
    const response = await post(app, "/login-and-count");
    const { id, devices } = (await response.json()) as { id: string; devices: UserSession[] };
    expect(idOf(cookieOf(response) as string)).toBe(id);
    expect(devices).toHaveLength(1);
    expect(devices[0]?.current).toBe(true);
  });

  it("signs in as another user: rotates again, under the other user's tag", async () => {
    const { app, factory, appName } = usersApp();
    const asAnn = await signIn(app, "ann", "A");
    const asBob = cookieOf(await post(app, "/login", asAnn, { user: "bob" })) as string;
    expect(tagOf(idOf(asBob))).toBe(await userTag(appName, "bob"));
    expect(await (await get(app, "/me", asBob)).json()).toMatchObject({ user: "bob" });
    expect(await (await get(app, "/me", asAnn)).json()).toMatchObject({ user: null });
    const manager = await factory.open();
    await expect(manager.userSessions("ann")).rejects.toMatchObject({ code: "user_not_found" });
    expect((await manager.userSessions("bob")).sessions).toHaveLength(1);
  });

  it("keeps the user's tag when a signed-in session is regenerated, and the session stays signed in", async () => {
    const { app, factory, appName } = usersApp();
    const cookie = await signIn(app, "ann", "A");
    await post(app, "/cart?item=lamp", cookie);
    const regenerated = await post(app, "/regenerate", cookie);
    expect(regenerated.status).toBe(200);
    const rotated = cookieOf(regenerated) as string;
    expect(idOf(rotated)).not.toBe(idOf(cookie));
    expect(tagOf(idOf(rotated))).toBe(await userTag(appName, "ann"));
    expect(await (await get(app, "/me", rotated)).json()).toEqual({
      user: "ann",
      cart: "lamp",
      n: null,
    });
    expect(await (await factory.open()).has(idOf(cookie))).toBe(false);
    const devices = (await (await get(app, "/devices", rotated)).json()) as UserSession[];
    expect(devices.map((d) => d.current)).toEqual([true]);
  });

  it("refuses login() after destroy() in the same request, changing nothing", async () => {
    const { app } = usersApp();
    const cookie = cookieOf(await post(app, "/cart?item=lamp")) as string;
    const response = await post(app, "/logout-then-login", cookie);
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: { code: "session_destroyed" } });
    expect(await (await get(app, "/me", cookie)).json()).toMatchObject({
      user: null,
      cart: "lamp",
    });
  });

  it("answers two logins at once with one cookie with one signed-in session and a 409, never a 5xx", async () => {
    const { app, factory } = usersApp();
    const cookie = cookieOf(await post(app, "/cart?item=lamp")) as string;
    const responses = await Promise.all(
      [0, 1].map(() => post(app, "/login", cookie, { user: "ann" })),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
    const won = responses.find((r) => r.status === 200) as Response;
    const lost = responses.find((r) => r.status === 409) as Response;
    expect(lost.headers.get("set-cookie")).toBeNull();
    const signedIn = cookieOf(won) as string;
    expect(await (await get(app, "/me", signedIn)).json()).toMatchObject({
      user: "ann",
      cart: "lamp",
    });
    expect((await (await factory.open()).userSessions("ann")).sessions).toHaveLength(1);
  });

  it("past the app's maxSessionsPerUser, a login signs out the least recently active device", async () => {
    const { app } = usersApp({ maxSessionsPerUser: 2 });
    const first = await signIn(app, "ann", "first");
    testClock.now = T0 + 200;
    const second = await signIn(app, "ann", "second");
    testClock.now = T0 + 400;
    const third = await signIn(app, "ann", "third");
    expect(await (await get(app, "/me", first)).json()).toMatchObject({ user: null });
    const devices = (await (await get(app, "/devices", third)).json()) as UserSession[];
    expect(devices.map((d) => d.labels.device)).toEqual(["third", "second"]);
    expect(await (await get(app, "/me", second)).json()).toMatchObject({ user: "ann" });
  });

  it("answers a bad user or bad labels with 400 and its code, with no onError, writing nothing", async () => {
    const { app, appName } = usersApp();
    const cookie = cookieOf(await post(app, "/cart?item=lamp")) as string;
    const cases: [unknown, string][] = [
      [{ user: "" }, "invalid_user"],
      [{ user: "x".repeat(257) }, "invalid_user"],
      [{ user: 42 }, "invalid_user"],
      [{}, "invalid_user"],
      [{ user: "ann", labels: "a laptop" }, "invalid_labels"],
      [{ user: "ann", labels: ["laptop"] }, "invalid_labels"],
      [{ user: "ann", labels: { device: "x".repeat(1100) } }, "invalid_labels"],
    ];
    for (const [body, code] of cases) {
      const response = await post(app, "/login", cookie, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    expect(await (await get(app, "/me", cookie)).json()).toEqual({
      user: null,
      cart: "lamp",
      n: null,
    });
    expect(await storedSessions(appName)).toBe(1);
  });

  it("loses no acknowledged change among 16 concurrent requests with one cookie after login", async () => {
    const { app } = usersApp();
    const cookie = await signIn(app, "ann", "A");
    const responses = await Promise.all(
      Array.from({ length: 16 }, () => post(app, "/inc", cookie)),
    );
    const acknowledged: number[] = [];
    for (const response of responses) {
      expect([200, 409]).toContain(response.status);
      const body = (await response.json()) as { n?: number; error?: { code: string } };
      if (response.status === 200) acknowledged.push(body.n as number);
      else expect(body.error?.code).toBe("session_conflict");
      // The cookie never moves: no request rotated the signed-in session.
      expect(response.headers.get("set-cookie")).toBeNull();
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    const stored = (await (await get(app, "/me", cookie)).json()) as { n: number; user: string };
    expect(stored).toMatchObject({ user: "ann", n: acknowledged.length });
    expect(Math.max(...acknowledged)).toBe(acknowledged.length);
  });

  it("with retry, 16 concurrent requests with one cookie after login all succeed, none lost", async () => {
    const { app } = usersApp({ retry: 15 });
    const cookie = await signIn(app, "ann", "A");
    const responses = await Promise.all(
      Array.from({ length: 16 }, () => post(app, "/inc", cookie)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(16).fill(200));
    const counts = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { n: number }).n),
    );
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(await (await get(app, "/me", cookie)).json()).toMatchObject({ user: "ann", n: 16 });
  });
});

describe("sessions() middleware: devices()", () => {
  it("lists the user's sessions with their labels, this one marked current, by handles that are not IDs", async () => {
    const { app } = usersApp();
    const laptop = await signIn(app, "ann", "Laptop");
    testClock.now = T0 + 10;
    const phone = await signIn(app, "ann", "Phone");
    await signIn(app, "bob", "Bob's");
    const devices = (await (await get(app, "/devices", laptop)).json()) as UserSession[];
    expect(devices).toHaveLength(2);
    expect(devices.map((d) => [d.labels.device, d.current])).toEqual([
      ["Phone", false],
      ["Laptop", true],
    ]);
    for (const device of devices) {
      expect(device.created).toBeGreaterThanOrEqual(T0);
      expect(device.expires).toBeGreaterThan(device.lastActive);
      for (const id of [idOf(laptop), idOf(phone)]) {
        expect(device.handle).not.toBe(id);
        expect(id).not.toContain(device.handle);
      }
    }
    const fromPhone = (await (await get(app, "/devices", phone)).json()) as UserSession[];
    expect(fromPhone.map((d) => [d.labels.device, d.current])).toEqual([
      ["Phone", true],
      ["Laptop", false],
    ]);
  });

  it("is empty, with no user, for a session that is not signed in", async () => {
    const { app } = usersApp();
    const cookie = cookieOf(await post(app, "/cart")) as string;
    expect(await (await get(app, "/devices", cookie)).json()).toEqual([]);
    expect(await (await get(app, "/me", cookie)).json()).toMatchObject({ user: null });
    expect(await (await post(app, "/sign-out-others", cookie)).json()).toEqual({ ended: 0 });
  });
});

describe("sessions() middleware: signOutOthers() and signOutDevice()", () => {
  it("signOutOthers() ends every other session of the user at once, and keeps this one", async () => {
    const { app } = usersApp();
    const a = await signIn(app, "ann", "A");
    const b = await signIn(app, "ann", "B");
    const c = await signIn(app, "ann", "C");
    const bob = await signIn(app, "bob", "Bob's");
    const answer = await post(app, "/sign-out-others", a);
    expect(await answer.json()).toEqual({ ended: 2 });
    expect(answer.headers.get("set-cookie")).toBeNull();
    for (const other of [b, c]) {
      const read = await get(app, "/me", other);
      expect(await read.json()).toMatchObject({ user: null });
      expect(read.headers.get("set-cookie")).toMatch(/^sid=; Max-Age=0/);
    }
    expect(await (await get(app, "/me", a)).json()).toMatchObject({ user: "ann" });
    expect(await (await get(app, "/me", bob)).json()).toMatchObject({ user: "bob" });
    const devices = (await (await get(app, "/devices", a)).json()) as UserSession[];
    expect(devices.map((d) => [d.labels.device, d.current])).toEqual([["A", true]]);
  });

  it("signOutDevice(handle) ends that one session; a handle of another user is a 404 that ends nothing", async () => {
    const { app } = usersApp();
    const a = await signIn(app, "ann", "A");
    const b = await signIn(app, "ann", "B");
    const bob = await signIn(app, "bob", "Bob's");
    const bobs = (await (await get(app, "/devices", bob)).json()) as UserSession[];
    const foreign = await post(app, `/sign-out-device?handle=${bobs[0]?.handle}`, a);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe(
      "handle_not_found",
    );
    const made = await post(app, "/sign-out-device?handle=made-up", a);
    expect(made.status).toBe(404);
    expect(await (await get(app, "/me", bob)).json()).toMatchObject({ user: "bob" });
    expect(await (await get(app, "/me", b)).json()).toMatchObject({ user: "ann" });

    const devices = (await (await get(app, "/devices", a)).json()) as UserSession[];
    const handleOfB = devices.find((d) => !d.current)?.handle as string;
    const ended = await post(app, `/sign-out-device?handle=${handleOfB}`, a);
    expect(ended.status).toBe(200);
    expect(await (await get(app, "/me", b)).json()).toMatchObject({ user: null });
    expect(await (await get(app, "/me", a)).json()).toMatchObject({ user: "ann" });
    // Ended already: the same handle names nothing now.
    expect((await post(app, `/sign-out-device?handle=${handleOfB}`, a)).status).toBe(404);
  });

  it("signOutDevice() from a session that is not signed in is a 404 that calls nothing", async () => {
    const { app } = usersApp();
    await signIn(app, "ann", "A");
    const anonymous = cookieOf(await post(app, "/cart")) as string;
    const response = await post(app, "/sign-out-device?handle=anything", anonymous);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      "handle_not_found",
    );
    const missing = await post(app, "/sign-out-device", anonymous);
    expect(missing.status).toBe(400);
  });

  it("destroy() signs this device out: it leaves the user's list", async () => {
    const { app } = usersApp();
    const a = await signIn(app, "ann", "A");
    const b = await signIn(app, "ann", "B");
    const logout = await post(app, "/logout", b);
    expect(logout.headers.get("set-cookie")).toMatch(/^sid=; Max-Age=0/);
    const devices = (await (await get(app, "/devices", a)).json()) as UserSession[];
    expect(devices.map((d) => d.labels.device)).toEqual(["A"]);
  });
});

describe("sessions() middleware: a signed-in session's cookie", () => {
  it("opens the session only for the exact value sent, tag included", async () => {
    const { app } = usersApp();
    const cookie = await signIn(app, "ann", "A");
    const [id, signature] = cookie.slice("sid=".length).split(".") as [string, string];
    const [tag, rest] = id.split("!") as [string, string];
    const altered = [
      `sid=${tag.toUpperCase()}!${rest}.${signature}`,
      `sid=${tag}%21${rest}.${signature}`,
      `sid=${rest}.${signature}`,
      `sid=${tag}!${rest}=.${signature}`,
      `sid="${id}.${signature}"`,
      `sid=${"0".repeat(16)}!${rest}.${signature}`,
    ];
    for (const bad of altered) {
      const read = await get(app, "/me", bad);
      expect(await read.json(), bad).toMatchObject({ user: null });
    }
    expect(await (await get(app, "/me", cookie)).json()).toMatchObject({ user: "ann" });
  });
});
