import { describe, expect, it } from "vitest";
import { ConflictError, MemoryStore, SessionError } from "../../src/index";
import { makeManager } from "./helpers";

// A session the program still holds after commit() stays live, as a ZODB object does after
// transaction.commit(): its next change is stored by the next commit, or refused; never dropped
// (docs/DESIGN.md#units-of-work).
describe("a session held after commit (in process)", () => {
  it("stores a change made after a commit with the next commit", () => {
    const { manager, store } = makeManager();
    const s = manager.get("k");
    s.set("a", 1);
    manager.commit();
    s.set("a", 2);
    expect(manager.commit()).toBe(1);
    expect(store.load("k")?.data).toEqual({ a: 2 });
    expect(store.load("k")?.version).toBe(2);
  });

  it("stands for what was stored: its version and sid follow each commit", () => {
    const { manager, store } = makeManager();
    const s = manager.get("k");
    expect([s.version, s.sid, s.isNew]).toEqual([0, null, true]);
    s.set("a", 1);
    manager.commit();
    const sid = store.load("k")?.sid;
    expect([s.version, s.sid, s.isNew, s.isModified]).toEqual([1, sid, false, false]);
    s.delete("a");
    manager.commit();
    expect([s.version, s.sid, s.size]).toEqual([2, sid, 0]);
    expect(store.load("k")?.data).toEqual({});
  });

  it("is what the next read in the unit of work returns once it changed again", () => {
    const { manager } = makeManager();
    const s = manager.get("k");
    s.set("a", 1);
    manager.commit();
    s.set("b", 2);
    expect(manager.get("k")).toBe(s);
  });

  it("merges a later change with what another manager committed meanwhile, per key", () => {
    const store = new MemoryStore();
    const one = makeManager({ store }).manager;
    const two = makeManager({ store }).manager;
    const s = one.get("k");
    s.set("a", 1);
    one.commit();
    two.get("k").set("b", 2);
    two.commit();
    s.set("c", 3);
    one.commit();
    expect(store.load("k")?.data).toEqual({ a: 1, b: 2, c: 3 });
    // The held session now shows what was stored, the other manager's change included.
    expect(s.toJSON()).toEqual({ a: 1, b: 2, c: 3 });
  });

  it("refuses a later change to a key another manager changed meanwhile, and drops it", () => {
    const store = new MemoryStore();
    const one = makeManager({ store }).manager;
    const two = makeManager({ store }).manager;
    const s = one.get("k");
    s.set("n", 1);
    one.commit();
    two.get("k").set("n", 5);
    two.commit();
    s.set("n", 2);
    expect(() => one.commit()).toThrow(ConflictError);
    expect(store.load("k")?.data).toEqual({ n: 5 });
    // The error said what was refused; the change does not come back with a later commit.
    expect(s.isModified).toBe(false);
    expect(s.get("n")).toBe(1);
    one.get("other").set("x", 1);
    expect(one.commit()).toBe(1);
    expect(store.load("other")?.data).toEqual({ x: 1 });
    s.set("m", 3); // a new change to the held session merges: no one else changed "m"
    expect(one.commit()).toBe(1);
    expect(store.load("k")?.data).toEqual({ n: 5, m: 3 });
  });

  it("an ended session ignores invalidate() and refuses lastModified, so no later commit fails on it", () => {
    const { manager, store } = makeManager();
    const s = manager.get("k");
    s.set("a", 1);
    manager.commit();
    s.invalidate();
    manager.commit();
    s.invalidate();
    expect(s.isModified).toBe(false);
    expect(() => {
      s.lastModified = 5;
    }).toThrow(/invalidated/);
    manager.get("other").set("x", 1);
    expect(manager.commit()).toBe(1);
    expect(store.load("other")?.data).toEqual({ x: 1 });
  });

  it("an invalidated session takes no more changes after its commit", () => {
    const { manager, events } = makeManager();
    const s = manager.get("k");
    s.set("a", 1);
    manager.commit();
    s.invalidate();
    manager.commit();
    expect(events.map((e) => e.type)).toEqual(["begin", "end"]);
    expect(s.isValid()).toBe(false);
    expect(() => s.set("a", 2)).toThrow(/invalidated/);
    expect(manager.get("k").isNew).toBe(true);
  });

  it("a new session whose changes left it empty stays unstored, and its next change stores it", () => {
    const { manager, store } = makeManager();
    const s = manager.get("k");
    s.set("a", 1);
    s.delete("a");
    manager.commit();
    expect(store.count()).toBe(0);
    s.set("b", 2);
    manager.commit();
    expect(store.load("k")?.data).toEqual({ b: 2 });
  });

  it("abort drops a change made after a commit, and the session shows what was stored", () => {
    const { manager, store } = makeManager();
    const s = manager.get("k");
    s.set("a", 1);
    manager.commit();
    s.set("a", 2);
    manager.abort();
    expect(s.get("a")).toBe(1);
    expect(s.isModified).toBe(false);
    expect(manager.commit()).toBe(0);
    expect(store.load("k")?.data).toEqual({ a: 1 });
  });

  it("regenerate() moves a held session without changes to the new key", () => {
    const { manager, store } = makeManager();
    const s = manager.get("old");
    s.set("user", "fred");
    manager.commit();
    const held = manager.get("old");
    const moved = manager.regenerate("old", "new");
    expect(moved).toBe(held);
    expect([moved.key, moved.version]).toEqual(["new", 1]);
    moved.set("role", "admin");
    manager.commit();
    expect(store.load("new")?.data).toEqual({ user: "fred", role: "admin" });
  });

  it("regenerate() refuses a held session with uncommitted changes, changing nothing", () => {
    const { manager, store } = makeManager();
    manager.get("old").set("user", "fred");
    manager.commit();
    manager.get("old").set("role", "admin");
    const written = store.rowsWritten;
    const error = (() => {
      try {
        manager.regenerate("old", "new");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: "uncommitted_changes", status: 409 });
    expect(store.rowsWritten).toBe(written);
    expect(store.load("new")).toBeUndefined();
  });
});
