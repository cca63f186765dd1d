import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  ConnectionManager,
  HttpSessionManagerFactory,
  SessionTooLargeError,
  SettingsMismatchError,
  withRetry,
} from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";
import { TRANSPORTS } from "./transports";

const fixtures = TRANSPORTS;

/** The fields of a session as every transport hands it out (`SessionView`), in order. */
const SESSION_VIEW_FIELDS = [
  "key",
  "sid",
  "version",
  "isNew",
  "valid",
  "created",
  "lastModified",
  "data",
];

let counter = 0;
/** A fresh app name per test, so tests never share sessions. */
function freshApp(prefix: string): string {
  counter++;
  return `${prefix}-${counter}`;
}

beforeEach(() => {
  testClock.now = T0;
});

describe.each(fixtures)("the manager over $name", ({ name, factory: makeFactory }) => {
  const slug = name.toLowerCase().replace(/[^a-z]+/g, "-");

  it("runs the repoze program: get, set, commit, and another manager reads it", async () => {
    const factory = makeFactory(freshApp(`${slug}-program`));
    const cm = new ConnectionManager();
    const manager = await factory.open(cm);
    const data = await manager.get("abc");
    expect(data.isNew).toBe(true);
    data.set("first_name", "fred");
    const [stored] = await cm.commit();
    expect(stored).toMatchObject({ key: "abc", version: 1, data: { first_name: "fred" } });

    const other = await factory.open();
    const again = await other.get("abc");
    expect(again.isNew).toBe(false);
    expect(again.get("first_name")).toBe("fred");
    expect(again.created).toBe(T0);
    expect(again.lastModified).toEqual(expect.any(Number));
  });

  it("stores nothing for a session nobody modifies", async () => {
    const factory = makeFactory(freshApp(`${slug}-lazy`));
    const manager = await factory.open();
    await manager.get("k");
    expect(await manager.connection.commit()).toEqual([]);
    const next = await factory.open();
    expect(await next.query("k")).toBeUndefined();
    expect(await next.query("k", "none")).toBe("none");
    expect(await next.has("k")).toBe(false);
  });

  it("keeps one snapshot per key within a unit of work, and abort drops its changes", async () => {
    const factory = makeFactory(freshApp(`${slug}-unit`));
    const manager = await factory.open();
    const a = await manager.get("k");
    expect(await manager.get("k")).toBe(a);
    a.set("x", 1);
    manager.connection.abort();
    expect(await manager.connection.commit()).toEqual([]);
    expect(await (await factory.open()).has("k")).toBe(false);
  });

  it("merges disjoint changes from two units of work", async () => {
    const factory = makeFactory(freshApp(`${slug}-merge`));
    const seed = await factory.open();
    (await seed.get("k")).set("base", 0);
    await seed.connection.commit();
    const one = await factory.open();
    const two = await factory.open();
    (await one.get("k")).set("x", 1);
    (await two.get("k")).set("y", 2);
    await one.connection.commit();
    await two.connection.commit();
    const read = await (await factory.open()).get("k");
    expect(read.toJSON()).toEqual({ base: 0, x: 1, y: 2 });
  });

  it("refuses competing changes with a ConflictError naming the session and carrying its state", async () => {
    const factory = makeFactory(freshApp(`${slug}-conflict`));
    const seed = await factory.open();
    (await seed.get("k")).set("x", 0);
    await seed.connection.commit();
    const one = await factory.open();
    const two = await factory.open();
    (await one.get("k")).set("x", 1);
    (await two.get("k")).set("x", 2);
    await one.connection.commit();
    const error = await two.connection.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).key).toBe("k");
    expect((error as ConflictError).status).toBe(409);
    expect((error as ConflictError).current?.data).toEqual({ x: 1 });
    expect((error as ConflictError).message).toMatch(/"k"/);
  });

  it("carries the current session in one shape on every transport: a SessionView", async () => {
    const factory = makeFactory(freshApp(`${slug}-current`));
    const seed = await factory.open();
    (await seed.get("k")).set("x", 0);
    const [stored] = await seed.connection.commit();
    // A commit resolves to the stored session in that shape too.
    expect(Object.keys(stored ?? {})).toEqual(SESSION_VIEW_FIELDS);
    const one = await factory.open();
    const two = await factory.open();
    (await one.get("k")).set("x", 1);
    (await two.get("k")).set("x", 2);
    await one.connection.commit();
    const error = (await two.connection.commit().catch((e: unknown) => e)) as ConflictError;
    // Exactly these fields, in this order, as in process and over the other transports.
    expect(Object.keys(error.current ?? {})).toEqual(SESSION_VIEW_FIELDS);
    expect(error.current).toEqual({
      key: "k",
      sid: stored?.sid,
      version: 2,
      isNew: false,
      valid: true,
      created: T0,
      lastModified: T0,
      data: { x: 1 },
    });
  });

  it("names the session of a ConflictError whose session ended", async () => {
    const factory = makeFactory(freshApp(`${slug}-ended`));
    const seed = await factory.open();
    (await seed.get("k")).set("x", 0);
    await seed.connection.commit();
    const late = await factory.open();
    (await late.get("k")).set("x", 1);
    const ender = await factory.open();
    (await ender.get("k")).invalidate();
    await ender.connection.commit();
    const error = (await late.connection.commit().catch((e: unknown) => e)) as ConflictError;
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "session_ended", key: "k", current: null });
  });

  it("stores nothing for a new session whose changes leave it empty: no event, no app", async () => {
    const app = freshApp(`${slug}-noop`);
    const factory = makeFactory(app);
    const manager = await factory.open();
    (await manager.get("cleared")).clear();
    const deleting = await manager.get("deleted");
    deleting.set("a", 1);
    deleting.delete("a");
    (await manager.get("dated")).lastModified = T0;
    expect(await manager.connection.commit()).toEqual([null, null, null]);
    const next = await factory.open();
    for (const key of ["cleared", "deleted", "dated"]) expect(await next.has(key)).toBe(false);
  });

  it("keeps created <= lastModified when this process's clock lags behind the object's", async () => {
    const factory = makeFactory(freshApp(`${slug}-clock`), { clock: () => T0 - 0.007 });
    const manager = await factory.open();
    (await manager.get("k")).set("x", 1);
    const [stored] = await manager.connection.commit();
    expect(stored).toMatchObject({ created: T0, lastModified: T0 });
  });

  it("withRetry re-runs conflicting units of work until none is lost", async () => {
    const factory = makeFactory(freshApp(`${slug}-retry`));
    const increment = () =>
      withRetry(
        factory,
        async (manager) => {
          const data = await manager.get("counter");
          data.set("n", (data.get<number>("n") ?? 0) + 1);
        },
        { attempts: 20 },
      );
    await Promise.all(Array.from({ length: 8 }, increment));
    const final = await (await factory.open()).get("counter");
    expect(final.get("n")).toBe(8);
  });

  it("withRetry gives up after its attempts with the last ConflictError", async () => {
    const factory = makeFactory(freshApp(`${slug}-giveup`));
    const seed = await factory.open();
    (await seed.get("k")).set("x", 0);
    await seed.connection.commit();
    let runs = 0;
    const rival = makeFactory(factory.app);
    const result = withRetry(
      factory,
      async (manager) => {
        runs++;
        (await manager.get("k")).set("x", -runs);
        const other = await rival.open();
        (await other.get("k")).set("x", runs);
        await other.connection.commit();
      },
      { attempts: 3 },
    );
    await expect(result).rejects.toBeInstanceOf(ConflictError);
    expect(runs).toBe(3);
  });

  it("invalidates a session on commit", async () => {
    const factory = makeFactory(freshApp(`${slug}-invalidate`));
    const manager = await factory.open();
    (await manager.get("k")).set("x", 1);
    await manager.connection.commit();
    const data = await manager.get("k");
    data.invalidate();
    expect(await manager.connection.commit()).toEqual([null]);
    const next = await factory.open();
    expect(await next.has("k")).toBe(false);
    expect((await next.get("k")).isNew).toBe(true);
  });

  it("regenerates a session under a new key with its data", async () => {
    const factory = makeFactory(freshApp(`${slug}-regenerate`));
    const manager = await factory.open();
    (await manager.get("old")).set("user", "fred");
    await manager.connection.commit();
    const moved = await manager.regenerate("old", "new");
    expect(moved.key).toBe("new");
    expect(moved.get("user")).toBe("fred");
    const next = await factory.open();
    expect(await next.has("old")).toBe(false);
    expect((await next.get("new")).get("user")).toBe("fred");
  });

  it("refuses to open an app with settings that differ from the stored ones, naming the setting", async () => {
    const app = freshApp(`${slug}-settings`);
    await makeFactory(app, { timeout: 600 }).open();
    await expect(makeFactory(app, { timeout: 600 }).open()).resolves.toBeDefined();
    const error = await makeFactory(app, { timeout: 700 })
      .open()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettingsMismatchError);
    expect(error).toMatchObject({ app, setting: "timeout" });
    expect((error as Error).message).toMatch(/timeout/);
  });

  it("refuses an oversized session with SessionTooLargeError", async () => {
    const app = freshApp(`${slug}-size`);
    const factory = makeFactory(app, { maxSessionBytes: 100 });
    const manager = await factory.open();
    (await manager.get("k")).set("blob", "x".repeat(200));
    const error = await manager.connection.commit().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionTooLargeError);
    // The fields of the error thrown in the object, not zeros and empty names.
    expect(error).toMatchObject({ status: 413, key: "k", bytes: 211, limit: 100, app });
  });
});

describe("the HTTP client against a wrong base URL", () => {
  it("throws instead of taking a missing route for a missing session", async () => {
    const factory = new HttpSessionManagerFactory("https://sessions.test/wrong-prefix", "shop", {
      token: "test-token",
      fetch: (input, init) => exports.default.fetch(new Request(input, init)),
    });
    await expect(factory.open()).rejects.toMatchObject({ status: 404, code: "no_route" });
  });
});
