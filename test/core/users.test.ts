import { describe, expect, it } from "vitest";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import { SessionError, shardOf } from "../../src/index";
import { makeManager } from "./helpers";

// Users (docs/DESIGN.md#users), in process: sign-in binds and rotates, a user's sessions are
// listed by handle and ended together, a per-user limit evicts; bad input changes nothing.

async function signedIn(
  manager: ReturnType<typeof makeManager>["manager"],
  user: string,
  device: string,
) {
  const s = manager.get(`anon-${device}-${Math.random().toString(36).slice(2)}`);
  s.set("device", device);
  manager.commit();
  return manager.signIn(s, user, { device });
}

describe("sign-in", () => {
  it("rotates the key to one tagged for the user, keeps the data, ends the old key as regenerated", async () => {
    const { manager, store, events } = makeManager({ app: "shop" });
    const s = manager.get("anon");
    s.set("cart", [1, 2]);
    manager.commit();
    const oldSid = s.sid;
    const data = await manager.signIn(s, "user-1", { device: "Laptop" });
    expect(data).toBe(s);
    expect(s.key).not.toBe("anon");
    expect(tagOf(s.key)).toBe(await userTag("shop", "user-1"));
    expect(s.key).not.toContain("user-1");
    expect(s.user).toBe("user-1");
    expect(s.get("cart")).toEqual([1, 2]);
    expect(store.load("anon")).toBeUndefined();
    expect(store.load(s.key)?.user).toBe("user-1");
    const ends = events.filter((e) => e.type === "end");
    expect(ends.map((e) => [e.key, e.type === "end" && e.reason, e.id])).toEqual([
      ["anon", "regenerated", `${oldSid}:end`],
    ]);
    expect(events.filter((e) => e.type === "begin").map((e) => e.key)).toEqual(["anon", s.key]);
  });

  it("commits the session's pending changes with it, as one commit", async () => {
    const { manager, store } = makeManager();
    const s = manager.get("anon");
    s.set("a", 1);
    manager.commit();
    s.set("b", 2);
    await manager.signIn(s, "u");
    expect(store.load(s.key)?.data).toEqual({ a: 1, b: 2 });
    expect(s.isModified).toBe(false);
  });

  it("stores a session never stored, even empty, and writes nothing at its old key", async () => {
    const { manager, store, events } = makeManager();
    const s = manager.get("fresh");
    await manager.signIn(s, "u");
    expect(store.count()).toBe(1);
    expect(store.load(s.key)).toMatchObject({ user: "u", data: {} });
    expect(events.map((e) => [e.type, e.key])).toEqual([["begin", s.key]]);
  });

  it("signing in as another user rotates again and rebinds", async () => {
    const { manager, store } = makeManager();
    const s = await signedIn(manager, "alice", "Phone");
    const aliceKey = s.key;
    await manager.signIn(s, "bob");
    expect(s.user).toBe("bob");
    expect(store.load(aliceKey)).toBeUndefined();
    await expect(manager.userSessions("alice")).rejects.toMatchObject({ code: "user_not_found" });
    expect((await manager.userSessions("bob")).sessions).toHaveLength(1);
  });

  it("puts every session of a user on one shard at any count, while other keys spread", async () => {
    const { manager } = makeManager({ app: "shop" });
    const keys: string[] = [];
    for (let i = 0; i < 20; i++) keys.push((await signedIn(manager, "carol", `d${i}`)).key);
    for (const shards of [2, 3, 8, 64, 256]) {
      expect(new Set(keys.map((k) => shardOf(k, shards))).size).toBe(1);
    }
    // The random part alone would spread them.
    expect(new Set(keys.map((k) => shardOf(k.split("!")[1] as string, 64))).size).toBeGreaterThan(
      1,
    );
  });

  it("a signed-in session keeps its tag when regenerated, and refuses a key without it", async () => {
    const { manager, store } = makeManager();
    const s = await signedIn(manager, "dave", "Tablet");
    const tag = tagOf(s.key);
    expect(() => manager.regenerate(s.key, "plain-key")).toThrow(
      expect.objectContaining({ code: "invalid_key" }),
    );
    expect(store.load(s.key)).toBeDefined();
    const moved = manager.regenerate(s.key, `${tag}!another`);
    expect(moved.user).toBe("dave");
    expect((await manager.userSessions("dave", moved.key)).sessions[0]?.current).toBe(true);
  });

  it("refuses bad users and labels with a code, writing nothing", async () => {
    const { manager, store } = makeManager();
    const s = manager.get("anon");
    s.set("a", 1);
    manager.commit();
    const before = store.rowsWritten;
    for (const user of ["", "x".repeat(257), 42, null, undefined]) {
      await expect(manager.signIn(s, user as string)).rejects.toMatchObject({
        code: "invalid_user",
        status: 400,
      });
    }
    for (const labels of [[1], "x", { big: "y".repeat(2000) }, { f: () => 1 }]) {
      await expect(manager.signIn(s, "u", labels as never)).rejects.toMatchObject({
        code: "invalid_labels",
        status: 400,
      });
    }
    expect(store.rowsWritten).toBe(before);
    expect(s.key).toBe("anon");
    expect(store.load("anon")?.user).toBeUndefined();
  });
});

describe("a user's sessions", () => {
  it("are listed with handles that are not keys, their labels, times and the caller's own", async () => {
    const { manager, clock } = makeManager({ timeout: 600, period: 10 });
    clock.set(100);
    const phone = await signedIn(manager, "erin", "Phone");
    clock.set(150);
    const laptop = await signedIn(manager, "erin", "Laptop");
    await signedIn(manager, "frank", "Phone");
    const listed = await manager.userSessions("erin", laptop.key);
    expect(listed.user).toBe("erin");
    expect(listed.sessions.map((s) => [s.labels, s.current])).toEqual([
      [{ device: "Laptop" }, true],
      [{ device: "Phone" }, false],
    ]);
    const [first] = listed.sessions;
    expect(first).toMatchObject({ created: 150, lastActive: 150, expires: 760 });
    for (const s of listed.sessions) {
      expect(s.handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect([phone.key, laptop.key].some((k) => k.includes(s.handle))).toBe(false);
      expect(Object.keys(s).sort()).toEqual(
        ["created", "current", "expires", "handle", "labels", "lastActive"].sort(),
      );
    }
  });

  it("'end all' ends every one, each with one end event 'revoked'; their keys find no session", async () => {
    const { manager, events } = makeManager();
    const keys = [];
    for (const d of ["a", "b", "c"]) keys.push((await signedIn(manager, "gina", d)).key);
    const other = await signedIn(manager, "hank", "a");
    events.length = 0;
    expect(await manager.endUserSessions("gina", { all: true })).toBe(3);
    expect(events.map((e) => e.type === "end" && e.reason)).toEqual([
      "revoked",
      "revoked",
      "revoked",
    ]);
    expect(new Set(events.map((e) => e.key))).toEqual(new Set(keys));
    for (const key of keys) expect(manager.query(key)).toBeUndefined();
    expect(manager.query(other.key)).toBeDefined();
    await expect(manager.userSessions("gina")).rejects.toMatchObject({
      code: "user_not_found",
      status: 404,
    });
  });

  it("'all but mine' keeps the caller's; 'one' ends only the handle's", async () => {
    const { manager } = makeManager();
    const mine = await signedIn(manager, "ivy", "mine");
    await signedIn(manager, "ivy", "b");
    await signedIn(manager, "ivy", "c");
    expect(await manager.endUserSessions("ivy", { except: mine.key })).toBe(1 + 1);
    const left = await manager.userSessions("ivy", mine.key);
    expect(left.sessions.map((s) => s.current)).toEqual([true]);
    await signedIn(manager, "ivy", "d");
    const d = (await manager.userSessions("ivy", mine.key)).sessions.find((s) => !s.current);
    expect(await manager.endUserSessions("ivy", { handle: d?.handle as string })).toBe(1);
    expect((await manager.userSessions("ivy")).sessions).toHaveLength(1);
  });

  it("refuse an unknown handle, another user's handle, an unknown user: 404 with a code, nothing ended", async () => {
    const { manager, store } = makeManager();
    await signedIn(manager, "jack", "a");
    await signedIn(manager, "kate", "a");
    const kates = (await manager.userSessions("kate")).sessions[0]?.handle as string;
    const before = store.rowsWritten;
    await expect(manager.endUserSessions("jack", { handle: "nope" })).rejects.toMatchObject({
      code: "handle_not_found",
      status: 404,
    });
    await expect(manager.endUserSessions("jack", { handle: kates })).rejects.toMatchObject({
      code: "handle_not_found",
    });
    await expect(manager.endUserSessions("nobody", { all: true })).rejects.toMatchObject({
      code: "user_not_found",
    });
    await expect(manager.endUserSessions("jack", { nonsense: 1 } as never)).rejects.toBeInstanceOf(
      SessionError,
    );
    expect(store.rowsWritten).toBe(before);
    expect(store.count()).toBe(2);
  });

  it("past maxSessionsPerUser, a sign-in ends the least recently active ('evicted')", async () => {
    const { manager, clock, events } = makeManager({ maxSessionsPerUser: 2, period: 1 });
    clock.set(10);
    const oldest = await signedIn(manager, "liam", "1");
    clock.set(20);
    const second = await signedIn(manager, "liam", "2");
    clock.set(30);
    manager.get(oldest.key); // the first is now more recently active than the second
    manager.abort();
    clock.set(40);
    events.length = 0;
    const third = await signedIn(manager, "liam", "3");
    expect(
      events.filter((e) => e.type === "end" && e.reason === "evicted").map((e) => e.key),
    ).toEqual([second.key]);
    const left = (await manager.userSessions("liam", third.key)).sessions;
    expect(left.map((s) => s.labels.device)).toEqual(["3", "1"]);
  });

  it("a session without a user costs what it did: one row per commit, none per read in its period", async () => {
    const { manager, store } = makeManager();
    const s = manager.get("plain");
    s.set("a", 1);
    const before = store.rowsWritten;
    manager.commit();
    expect(store.rowsWritten - before).toBe(1);
    const read = store.rowsWritten;
    manager.get("plain");
    expect(store.rowsWritten).toBe(read);
    expect(store.load("plain")).not.toHaveProperty("user");
  });
});
