import { createCookie, type Session, type SessionStorage } from "react-router";
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, type FactoryOptions } from "../../src/index";
import { createEdgeSessionStorage } from "../../src/react-router/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";
import { TRANSPORTS } from "./transports";

const fixtures = TRANSPORTS;

type Data = { count: number; user: string; note: string; [key: string]: unknown };
type Flash = { message: string };

const cookie = createCookie("__session", {
  secrets: ["a test secret that is long enough to sign"],
  httpOnly: true,
  sameSite: "lax",
  path: "/",
});

/** The `Cookie` header a browser sends back after `setCookie`. */
function cookieHeader(setCookie: string): string {
  return setCookie.split(";")[0] as string;
}

/** The session ID that a `Set-Cookie` of the storage names. */
async function idOf(setCookie: string): Promise<string> {
  return (await cookie.parse(cookieHeader(setCookie))) as string;
}

let counter = 0;
function freshApp(prefix: string): string {
  counter++;
  return `rr-${prefix}-${counter}`;
}

/** The adapter's clock (seconds), for `expires`; moved by the tests. */
const adapterClock = { now: T0 };

beforeEach(() => {
  testClock.now = T0;
  adapterClock.now = T0;
});

describe.each(fixtures)("the React Router session storage over $name", ({ name, factory }) => {
  const slug = name.toLowerCase().replace(/[^a-z]+/g, "-");

  function storageFor(app: string, options?: FactoryOptions): SessionStorage<Data, Flash> {
    return createEdgeSessionStorage<Data, Flash>({
      factory: () => factory(app, options),
      cookie,
      clock: () => adapterClock.now,
    });
  }

  /** A stored session with `data`: the `Cookie` header that names it. */
  async function signedIn(storage: SessionStorage<Data, Flash>, data: Partial<Data>) {
    const session = await storage.getSession(null);
    for (const [key, value] of Object.entries(data)) session.set(key, value);
    return cookieHeader(await storage.commitSession(session));
  }

  it("stores a new session under a new signed ID, and the next request reads it", async () => {
    const app = freshApp(`${slug}-new`);
    const storage = storageFor(app);
    const session = await storage.getSession(null);
    expect(session.id).toBe("");
    session.set("user", "fred");
    const setCookie = await storage.commitSession(session);
    const id = await idOf(setCookie);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(setCookie).not.toContain(id); // signed: the value is encoded with its signature

    const next = await storage.getSession(cookieHeader(setCookie));
    expect(next.id).toBe(id);
    expect(next.get("user")).toBe("fred");
    const stored = await (await factory(app).open()).query(id);
    expect(stored?.toJSON()).toEqual({ user: "fred" });
  });

  it("never shows the app its own bookkeeping in the session's data", async () => {
    const storage = storageFor(freshApp(`${slug}-clean`));
    const header = await signedIn(storage, { user: "fred" });
    const session = await storage.getSession(header);
    expect(session.data).toEqual({ user: "fred" });
    await storage.commitSession(session);
    expect(session.data).toEqual({ user: "fred" });
  });

  it("merges two requests that change different keys of one session", async () => {
    const app = freshApp(`${slug}-merge`);
    const storage = storageFor(app);
    const header = await signedIn(storage, { count: 0 });
    const one = await storage.getSession(header);
    const two = await storage.getSession(header);
    one.set("user", "fred");
    two.set("note", "hello");
    await storage.commitSession(one);
    await storage.commitSession(two);
    expect((await storage.getSession(header)).data).toEqual({
      count: 0,
      user: "fred",
      note: "hello",
    });
  });

  it("refuses a change to a key another request changed since the read, storing nothing of it", async () => {
    const storage = storageFor(freshApp(`${slug}-conflict`));
    const header = await signedIn(storage, { count: 0 });
    const one = await storage.getSession(header);
    const two = await storage.getSession(header);
    one.set("count", 1);
    two.set("count", 1);
    two.set("note", "lost with the refused commit");
    await storage.commitSession(one);
    const error = await storage.commitSession(two).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "conflict", status: 409, keys: ["count"] });
    expect((await storage.getSession(header)).data).toEqual({ count: 1 });
  });

  it("loses no increment of 16 concurrent requests that retry on a conflict", async () => {
    const storage = storageFor(freshApp(`${slug}-count`));
    const header = await signedIn(storage, { count: 0 });
    const increment = async (): Promise<number> => {
      for (;;) {
        const session = await storage.getSession(header);
        const count = (session.get("count") ?? 0) + 1;
        session.set("count", count);
        try {
          await storage.commitSession(session);
          return count;
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
        }
      }
    };
    const acknowledged = await Promise.all(Array.from({ length: 16 }, increment));
    expect([...acknowledged].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    expect((await storage.getSession(header)).get("count")).toBe(16);
  });

  it("removes a key the app unsets, and a flash value once it was read", async () => {
    const storage = storageFor(freshApp(`${slug}-unset`));
    const header = await signedIn(storage, { user: "fred", note: "bye" });
    const first = await storage.getSession(header);
    first.unset("note");
    first.flash("message", "saved");
    await storage.commitSession(first);
    const second = await storage.getSession(header);
    expect(second.get("message")).toBe("saved");
    await storage.commitSession(second);
    const third = await storage.getSession(header);
    expect(third.has("message")).toBe(false);
    expect(third.data).toEqual({ user: "fred" });
  });

  it("stores a nested value the app changed in place, at each commit", async () => {
    const storage = storageFor(freshApp(`${slug}-in-place`));
    const header = await signedIn(storage, { cart: { items: ["apple"] } });
    const session = await storage.getSession(header);
    const cart = session.get("cart") as { items: string[] };
    cart.items.push("pear");
    await storage.commitSession(session);
    cart.items.push("plum");
    await storage.commitSession(session);
    expect((await storage.getSession(header)).get("cart")).toEqual({
      items: ["apple", "pear", "plum"],
    });
  });

  it("refuses a value that is not JSON with a TypeError naming its key, storing nothing", async () => {
    const storage = storageFor(freshApp(`${slug}-json`));
    const header = await signedIn(storage, { user: "fred" });
    const session = await storage.getSession(header);
    session.set("user", "wilma");
    session.set("note", new Map() as unknown as string);
    await expect(storage.commitSession(session)).rejects.toThrow(/note/);
    expect((await storage.getSession(header)).data).toEqual({ user: "fred" });
  });

  it("ends the stored session on destroySession, and the cookie then reads an empty session", async () => {
    const app = freshApp(`${slug}-destroy`);
    const storage = storageFor(app);
    const header = await signedIn(storage, { user: "fred" });
    const id = await cookie.parse(header);
    const setCookie = await storage.destroySession(await storage.getSession(header));
    expect(setCookie).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(await (await factory(app).open()).has(id)).toBe(false);
    expect((await storage.getSession(header)).data).toEqual({});
  });

  it("honours expires: past it the session reads empty and is ended", async () => {
    const app = freshApp(`${slug}-expires`);
    const storage = storageFor(app);
    const session = await storage.getSession(null);
    session.set("user", "fred");
    const setCookie = await storage.commitSession(session, {
      expires: new Date((T0 + 100) * 1000),
    });
    const header = cookieHeader(setCookie);
    const id = await idOf(setCookie);
    adapterClock.now = T0 + 99;
    expect((await storage.getSession(header)).get("user")).toBe("fred");
    adapterClock.now = T0 + 100;
    expect((await storage.getSession(header)).data).toEqual({});
    expect(await (await factory(app).open()).has(id)).toBe(false);
  });

  it("extends the expiry of a later commit, and two requests extending it at once both commit", async () => {
    const app = freshApp(`${slug}-rolling`);
    const storage = storageFor(app); // period 20: an expiry moved by 20 s or less is not written
    const first = await storage.getSession(null);
    first.set("count", 0);
    const header = cookieHeader(
      await storage.commitSession(first, { expires: new Date((T0 + 100) * 1000) }),
    );
    adapterClock.now = T0 + 50;
    const one = await storage.getSession(header);
    const two = await storage.getSession(header);
    one.set("user", "fred");
    two.set("note", "hello");
    const later = { expires: new Date((T0 + 150) * 1000) };
    await storage.commitSession(one, later);
    await storage.commitSession(two, later);
    adapterClock.now = T0 + 120; // past the first expiry, before the extended one
    expect((await storage.getSession(header)).data).toEqual({
      count: 0,
      user: "fred",
      note: "hello",
    });
  });

  it("commits a session read again after a conflict", async () => {
    const storage = storageFor(freshApp(`${slug}-reread`));
    const header = await signedIn(storage, { count: 0 });
    const stale: Session<Data, Flash> = await storage.getSession(header);
    const fresh = await storage.getSession(header);
    fresh.set("count", 1);
    await storage.commitSession(fresh);
    stale.set("count", 1);
    await expect(storage.commitSession(stale)).rejects.toBeInstanceOf(ConflictError);
    const again = await storage.getSession(header);
    again.set("count", (again.get("count") ?? 0) + 1);
    await storage.commitSession(again);
    expect((await storage.getSession(header)).get("count")).toBe(2);
  });
});
