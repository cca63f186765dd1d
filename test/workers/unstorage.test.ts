import { createStorage, type Storage } from "unstorage";
import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError, InvalidKeyError, SessionError } from "../../src/index";
import { type EdgeSessionsDriverOptions, edgeSessionsDriver } from "../../src/unstorage/index";
import { T0 } from "./helpers";
import { TRANSPORTS } from "./transports";

const fixtures = TRANSPORTS;

let counter = 0;
function freshApp(prefix: string): string {
  counter++;
  return `us-${prefix}-${counter}`;
}

/** The driver's clock (seconds), for `ttl`; moved by the tests. */
const driverClock = { now: T0 };

beforeEach(() => {
  driverClock.now = T0;
});

describe.each(fixtures)("the unstorage driver over $name", ({ name, factory }) => {
  const slug = name.toLowerCase().replace(/[^a-z]+/g, "-");

  function storageFor(
    app: string,
    options: Omit<EdgeSessionsDriverOptions, "factory"> = {},
  ): Storage {
    return createStorage({
      driver: edgeSessionsDriver({
        factory: () => factory(app),
        clock: () => driverClock.now,
        ...options,
      }),
    });
  }

  it("answers null, false and no meta for a key never set", async () => {
    const storage = storageFor(freshApp(`${slug}-missing`));
    expect(await storage.getItem("nothing")).toBeNull();
    expect(await storage.hasItem("nothing")).toBe(false);
    expect(await storage.getMeta("nothing")).toEqual({});
  });

  it("stores each item as a session of the app, which another storage reads back", async () => {
    const app = freshApp(`${slug}-roundtrip`);
    const storage = storageFor(app);
    await storage.setItem("cart:abc", { items: 2, note: "gift" });
    await storage.setItem("greeting", "hello");
    await storage.setItem("answer", 42);
    const other = storageFor(app);
    expect(await other.getItem("cart:abc")).toEqual({ items: 2, note: "gift" });
    expect(await other.getItem("greeting")).toBe("hello");
    expect(await other.getItem("answer")).toBe(42);
    expect(await other.hasItem("cart:abc")).toBe(true);
    const session = await (await factory(app).open()).query("cart:abc");
    expect(session?.get("value")).toBe('{"items":2,"note":"gift"}');
  });

  it("replaces the value on setItem, the last write winning", async () => {
    const storage = storageFor(freshApp(`${slug}-replace`));
    await storage.setItem("k", { a: 1 });
    await storage.setItem("k", { b: 2 });
    expect(await storage.getItem("k")).toEqual({ b: 2 });
    // Eight writes at once (each starting from the same known version): every one is stored,
    // in some order, and the value read is one of theirs.
    await Promise.all(Array.from({ length: 8 }, (_, i) => storage.setItem("k", i)));
    expect([0, 1, 2, 3, 4, 5, 6, 7]).toContain(await storage.getItem("k"));
  });

  it("with a scope, refuses a write over an item changed since the request's read", async () => {
    const request = { name: "one request" };
    let current: object | undefined;
    const storage = storageFor(freshApp(`${slug}-scoped`), { scope: () => current });
    await storage.setItem("k", { count: 0 });
    current = request;
    expect(await storage.getItem("k")).toEqual({ count: 0 });
    current = undefined;
    await storage.setItem("k", { count: 1 }); // another request, meanwhile
    current = request;
    const error = await storage.setItem("k", { count: 1, note: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ status: 409 });
    expect(await storage.getItem("k")).toEqual({ count: 1 });
  });

  it("with a scope, loses no acknowledged change of 16 concurrent requests", async () => {
    const requests = Array.from({ length: 16 }, (_, i) => ({ request: i }));
    let current: object | undefined;
    const storage = storageFor(freshApp(`${slug}-count`), { scope: () => current });
    await storage.setItem("k", 0);
    // Each request reads, then writes, in its own scope (set before each call, as an
    // AsyncLocalStorage would hold it); the requests interleave at every await.
    const serve = async (request: object): Promise<number | undefined> => {
      current = request;
      const count = ((await storage.getItem<number>("k")) ?? 0) + 1;
      current = request;
      try {
        await storage.setItem("k", count);
        return count;
      } catch (error) {
        if (error instanceof ConflictError) return undefined;
        throw error;
      }
    };
    const answers = await Promise.all(requests.map(serve));
    const acknowledged = answers.filter((n) => n !== undefined);
    expect(acknowledged.length).toBeGreaterThan(0);
    current = undefined;
    expect(await storage.getItem("k")).toBe(acknowledged.length);
  });

  it("ends the session on removeItem: the key then reads null", async () => {
    const app = freshApp(`${slug}-remove`);
    const storage = storageFor(app);
    await storage.setItem("k", "v");
    await storage.removeItem("k");
    expect(await storage.getItem("k")).toBeNull();
    expect(await (await factory(app).open()).has("k")).toBe(false);
    await storage.removeItem("never-set"); // a missing key: nothing to do, no error
  });

  it("keeps each item under the driver's base", async () => {
    const app = freshApp(`${slug}-base`);
    const storage = storageFor(app, { base: "astro-session" });
    await storage.setItem("abc", "v");
    const manager = await factory(app).open();
    expect((await manager.query("astro-session:abc"))?.get("value")).toBe("v");
    expect(await manager.has("abc")).toBe(false);
  });

  it("honours ttl: the item reads null once it has run out, and its meta counts it down", async () => {
    const app = freshApp(`${slug}-ttl`);
    const storage = storageFor(app);
    await storage.setItem("k", "v", { ttl: 60 });
    driverClock.now = T0 + 45;
    expect(await storage.getMeta("k")).toMatchObject({ ttl: 15, birthtime: expect.any(Date) });
    expect(await storage.getItem("k")).toBe("v");
    driverClock.now = T0 + 60;
    expect(await storage.hasItem("k")).toBe(false);
    expect(await storage.getItem("k")).toBeNull();
    expect(await (await factory(app).open()).has("k")).toBe(false); // ended on that read
  });

  it("gives items the driver's ttl when setItem names none, and setItem's own ttl wins", async () => {
    const storage = storageFor(freshApp(`${slug}-default-ttl`), { ttl: 30 });
    await storage.setItem("short", "v");
    await storage.setItem("long", "v", { ttl: 300 });
    driverClock.now = T0 + 30;
    expect(await storage.getItem("short")).toBeNull();
    expect(await storage.getItem("long")).toBe("v");
  });

  it("refuses getKeys and clear with not_supported (501), changing nothing", async () => {
    const storage = storageFor(freshApp(`${slug}-list`));
    await storage.setItem("k", "v");
    for (const call of [() => storage.getKeys(), () => storage.clear()]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
      expect(error).toMatchObject({ code: "not_supported", status: 501 });
      expect((error as Error).message).toMatch(/never lists sessions/);
    }
    expect(await storage.getItem("k")).toBe("v");
  });

  it("keeps any key, escaped into a session key, and meta items beside their item", async () => {
    const app = freshApp(`${slug}-escape`);
    const storage = storageFor(app);
    await storage.setItem("two words~é", "v");
    await storage.setMeta("two words~é", { owner: "fred" });
    expect(await storage.getItem("two words~é")).toBe("v");
    expect(await storage.getMeta("two words~é")).toMatchObject({ owner: "fred" });
    const manager = await factory(app).open();
    expect((await manager.query("two~20words~7e~c3~a9"))?.get("value")).toBe("v");
  });

  it("refuses a key too long for a session, and a ttl that is not a number above 0", async () => {
    const storage = storageFor(freshApp(`${slug}-bad`));
    await expect(storage.setItem("k".repeat(257), "v")).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(storage.getItem("k".repeat(257))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(storage.setItem("k", "v", { ttl: -1 })).rejects.toThrow(/ttl/);
    expect(await storage.hasItem("k")).toBe(false);
    expect(() => edgeSessionsDriver({ factory: () => factory("x"), ttl: 0 })).toThrow(/ttl/);
  });
});
