// The counter example (examples/counter) end to end, its sessions kept by the session worker
// through a real service binding: `env.SESSIONS` is bound to the SessionService entrypoint
// (vitest.config.ts) as the example's wrangler.toml binds it in production.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { APP_NAME, app, type Bindings } from "../../examples/counter/src/app";
import { type SessionManagerRpc, unwrap } from "../../src/index";
import { T0, testClock } from "./clock";

const SECRET = "a-test-secret-for-the-counter-example-0123456789";

// The session worker's objects read this clock.
beforeEach(() => {
  testClock.now = T0;
});

// One env object for every request, as an isolate has: the example builds its middleware once
// per env.
const bindings: Bindings = { SESSIONS: env.SESSIONS, SESSION_SECRET: SECRET };

/** A browser with one cookie: sends `sid` back, keeps what `Set-Cookie` sets or clears. */
class Browser {
  cookie: string | undefined;

  async request(method: "GET" | "POST", path: string, form?: Record<string, string>) {
    // A browser posting the app's own forms sends their origin (Hono's csrf() checks it).
    const headers = new Headers({ origin: "http://localhost" });
    if (this.cookie !== undefined) headers.set("cookie", this.cookie);
    const body = form === undefined ? undefined : new URLSearchParams(form);
    const response = await app.request(path, { method, headers, body }, bindings);
    const set = response.headers.get("set-cookie");
    if (set !== null) this.cookie = /Max-Age=0/i.test(set) ? undefined : set.split(";")[0];
    return response;
  }

  /** The page at `/`, reduced to what it shows. */
  async page() {
    const response = await this.request("GET", "/");
    expect(response.status).toBe(200);
    const text = await response.text();
    return {
      flash: text.match(/id="flash">([^<]*)</)?.[1],
      user: text.match(/Logged in as <strong>([^<]*)</)?.[1],
      count: text.match(/id="count">(\d+)</)?.[1],
      text,
    };
  }

  async login(user = "fred", device = "") {
    const response = await this.request("POST", "/login", { user, device });
    expect(response.status).toBe(303);
    return response;
  }

  /** The session ID the cookie carries (the part before the signature). */
  get sessionId(): string | undefined {
    return this.cookie?.slice("sid=".length).split(".")[0];
  }
}

// The same binding, typed by the interface it serves (TypeScript gives up on the `Result` types
// through the RPC stub's mapped types: "excessively deep").
const service = env.SESSIONS as unknown as SessionManagerRpc;

/** The session's data as the session worker holds it (`null` when none), read over the binding. */
async function stored(id: string | undefined) {
  return unwrap(await service.query(APP_NAME, id as string))?.data ?? null;
}

/** How many sessions the session worker holds for the example (0 before its first). */
async function sessionsStored(): Promise<number> {
  const stats = await service.stats(APP_NAME);
  if (stats.ok) return stats.value.sessions;
  expect(stats.error.code).toBe("app_not_found");
  return 0;
}

describe("the counter example", () => {
  it("shows a visitor who is not logged in, and stores nothing for them", async () => {
    const before = await sessionsStored();
    const browser = new Browser();
    const page = await browser.page();
    expect(page.text).toContain("Not logged in.");
    expect(page.count).toBe("0");
    expect(browser.cookie).toBeUndefined();
    expect(await sessionsStored()).toBe(before);
  });

  it("logs in with a new, signed session cookie kept by the session worker", async () => {
    const browser = new Browser();
    const response = await browser.login("fred");
    expect(response.headers.get("location")).toBe("/");
    // A signed-in session's ID: the user's routing tag (a hash, not the name), then random.
    expect(response.headers.get("set-cookie")).toMatch(
      /^sid=[0-9a-f]{16}![A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(response.headers.get("set-cookie")).not.toContain("fred");
    expect(await stored(browser.sessionId)).toEqual({ _flash: { notice: "welcome" } });
    expect(unwrap(await service.query(APP_NAME, browser.sessionId as string))?.user).toBe("fred");
    const page = await browser.page();
    expect(page.user).toBe("fred");
    expect(page.count).toBe("0");
  });

  it("shows the welcome flash once", async () => {
    const browser = new Browser();
    await browser.login();
    expect((await browser.page()).flash).toBe("welcome");
    expect((await browser.page()).flash).toBeUndefined();
    expect(await stored(browser.sessionId)).toEqual({});
  });

  it("counts 1, 2, 3 across requests", async () => {
    const browser = new Browser();
    await browser.login();
    for (const expected of ["1", "2", "3"]) {
      const response = await browser.request("POST", "/count");
      expect(response.status).toBe(303);
      expect((await browser.page()).count).toBe(expected);
    }
    expect(await stored(browser.sessionId)).toMatchObject({ count: 3 });
  });

  it("keeps each browser's counter apart", async () => {
    const one = new Browser();
    const two = new Browser();
    await one.login("fred");
    await two.login("wilma");
    await one.request("POST", "/count");
    await one.request("POST", "/count");
    await two.request("POST", "/count");
    expect(await one.page()).toMatchObject({ user: "fred", count: "2" });
    expect(await two.page()).toMatchObject({ user: "wilma", count: "1" });
  });

  it("counts before login, and login moves the count to a new session ID", async () => {
    const browser = new Browser();
    await browser.request("POST", "/count");
    await browser.request("POST", "/count");
    const before = browser.sessionId;
    expect((await browser.page()).count).toBe("2");
    await browser.login("fred");
    expect(browser.sessionId).not.toBe(before);
    expect(await stored(before)).toBeNull();
    expect(await stored(browser.sessionId)).toMatchObject({ count: 2 });
    expect(await browser.page()).toMatchObject({ user: "fred", count: "2" });
  });

  it("refuses a form posted from another site with 403, and stores nothing", async () => {
    const before = await sessionsStored();
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
    expect(await sessionsStored()).toBe(before);
  });

  it("answers two counts at once with both stored (the example re-runs a count that met a conflict)", async () => {
    const browser = new Browser();
    await browser.request("POST", "/count");
    const cookie = browser.cookie as string;
    const responses = await Promise.all(
      [0, 1, 2, 3].map(() =>
        app.request(
          "/count",
          { method: "POST", headers: { cookie, origin: "http://localhost" } },
          bindings,
        ),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([303, 303, 303, 303]);
    expect(await stored(browser.sessionId)).toMatchObject({ count: 5 });
  });

  it("logs out: clears the cookie, ends the session, and the old cookie counts for nothing", async () => {
    const browser = new Browser();
    await browser.login();
    await browser.request("POST", "/count");
    const oldCookie = browser.cookie;
    const oldId = browser.sessionId;

    const response = await browser.request("POST", "/logout");
    expect(response.status).toBe(303);
    expect(response.headers.get("set-cookie")).toMatch(/^sid=; Max-Age=0; Path=\//);
    expect(browser.cookie).toBeUndefined();
    expect(await stored(oldId)).toBeNull();
    const page = await browser.page();
    expect(page.text).toContain("Not logged in.");
    expect(page.count).toBe("0");

    // Replaying the cookie from before the logout finds no session.
    const replay = new Browser();
    replay.cookie = oldCookie;
    expect((await replay.page()).user).toBeUndefined();
    expect((await replay.page()).count).toBe("0");
  });

  it("gives a new session ID at every login and ends the old one", async () => {
    const browser = new Browser();
    await browser.login("fred");
    const before = browser.sessionId;
    await browser.login("barney");
    expect(browser.sessionId).not.toBe(before);
    expect(await stored(before)).toBeNull();
    expect((await browser.page()).user).toBe("barney");
  });

  it("refuses an empty user name with 400", async () => {
    const browser = new Browser();
    const response = await browser.request("POST", "/login", { user: "  " });
    expect(response.status).toBe(400);
    expect(browser.cookie).toBeUndefined();
  });

  it("escapes the user name in the page", async () => {
    const browser = new Browser();
    await browser.login("<b>fred</b>");
    const page = await browser.page();
    expect(page.text).toContain("&lt;b&gt;fred&lt;/b&gt;");
    expect(page.text).not.toContain("<b>fred</b>");
  });

  it("ignores a cookie with a forged signature", async () => {
    const browser = new Browser();
    await browser.login();
    const forged = new Browser();
    forged.cookie = `sid=${browser.sessionId}.${"A".repeat(43)}`;
    expect((await forged.page()).user).toBeUndefined();
  });
});

describe("the counter example's devices page", () => {
  /** The devices page, reduced to its rows: the device name and whether it is this one. */
  async function devicesOf(browser: Browser) {
    const response = await browser.request("GET", "/devices");
    expect(response.status).toBe(200);
    const text = await response.text();
    const rows = [...text.matchAll(/<tr class="device"( data-current)?>([\s\S]*?)<\/tr>/g)].map(
      (m) => ({
        name: (m[2]?.match(/class="device-name">([^<]*)/)?.[1] ?? "").trim(),
        current: m[1] !== undefined,
        handle: m[2]?.match(/name="handle" value="([^"]*)"/)?.[1],
      }),
    );
    return { rows, text, flash: text.match(/id="flash">([^<]*)</)?.[1] };
  }

  it("lists the user's devices, this one marked, named by the form or by the User-Agent", async () => {
    const laptop = new Browser();
    const phone = new Browser();
    await laptop.login("betty", "Laptop");
    await phone.login("betty");
    const { rows, text } = await devicesOf(laptop);
    expect(
      rows
        .map(({ name, current }) => ({ name, current }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual([
      { name: "A browser on an unknown system", current: false },
      { name: "Laptop", current: true },
    ]);
    expect(text).toContain("(this device)");
    expect(text).toContain("Sign out other devices");
    // Handles end a device; they are not the session IDs the cookies carry.
    const handle = rows.find((r) => !r.current)?.handle as string;
    expect(handle).toBeTruthy();
    expect(phone.sessionId).not.toContain(handle);
    expect(text).not.toContain(phone.sessionId as string);
    expect(text).not.toContain(laptop.sessionId as string);
  });

  it("signs out the other devices at once: their next request finds no session", async () => {
    const a = new Browser();
    const b = new Browser();
    await a.login("dino", "A");
    await b.login("dino", "B");
    const answer = await a.request("POST", "/devices/sign-out-others");
    expect(answer.status).toBe(303);
    expect((await b.page()).user).toBeUndefined();
    expect(b.cookie).toBeUndefined();
    const after = await devicesOf(a);
    expect(after.flash).toBe("Signed out 1 other device.");
    expect(after.rows.map((r) => [r.name, r.current])).toEqual([["A", true]]);
    expect(after.text).not.toContain("Sign out other devices");
  });

  it("signs out one device by its handle, and says so when it was signed out already", async () => {
    const a = new Browser();
    const b = new Browser();
    const c = new Browser();
    await a.login("pebbles", "A");
    await b.login("pebbles", "B");
    await c.login("pebbles", "C");
    const handleOfB = (await devicesOf(a)).rows.find((r) => r.name === "B")?.handle as string;
    await a.request("POST", "/devices/sign-out", { handle: handleOfB });
    expect((await b.page()).user).toBeUndefined();
    expect((await c.page()).user).toBe("pebbles");
    const after = await devicesOf(a);
    expect(after.flash).toBe("Signed out that device.");
    expect(after.rows.map((r) => r.name).sort()).toEqual(["A", "C"]);
    await a.request("POST", "/devices/sign-out", { handle: handleOfB });
    expect((await devicesOf(a)).flash).toBe("That device was signed out already.");
  });

  it("sends a visitor who is not logged in back to the counter", async () => {
    const browser = new Browser();
    const response = await browser.request("GET", "/devices");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/");
  });
});
