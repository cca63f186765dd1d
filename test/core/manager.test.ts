import { describe, expect, it } from "vitest";
import {
  ConflictError,
  InvalidInputError,
  InvalidKeyError,
  MemoryStore,
  SessionBeginEvent,
  SessionDataManager,
  type SessionEndEvent,
} from "../../src/index";
import { makeManager } from "./helpers";

describe("the repoze expiry walk (timeout 30, period 1)", () => {
  it("ends a, then b, keeps c within the timeout, then replaces c", () => {
    const { manager, clock, events } = makeManager({ timeout: 30, period: 1 });
    const write = (key: string) => {
      manager.get(key).set("v", key);
      manager.commit();
    };

    clock.set(1);
    write("a");
    expect(manager.has("a")).toBe(true);
    manager.commit();

    clock.set(60);
    write("b");
    // 60 - 1 > 30: the access to "b" ended "a", though nobody read "a".
    expect(events.filter((e) => e.type === "end").map((e) => e.key)).toEqual(["a"]);
    expect(manager.has("a")).toBe(false);

    clock.set(600);
    write("c");
    manager.commit();
    expect(manager.query("b")).toBeUndefined();
    const c = manager.get("c");
    const sid = c.sid;
    expect(c.get("v")).toBe("c");
    manager.commit();

    clock.set(629); // 629 - 600 = 29 <= 30
    const again = manager.get("c");
    expect(again.sid).toBe(sid);
    expect(again.get("v")).toBe("c");
    manager.commit();

    clock.set(1200); // 1200 - 629 > 30
    const fresh = manager.get("c");
    expect(fresh.isNew).toBe(true);
    expect(fresh.size).toBe(0);
    expect(
      events.filter((e) => e.type === "end").map((e) => [e.key, (e as SessionEndEvent).reason]),
    ).toEqual([
      ["a", "expired"],
      ["b", "expired"],
      ["c", "expired"],
    ]);
  });

  it("keeps an idle session at least timeout and less than timeout + period seconds", () => {
    // timeout 40, period 20, last access at t=0 (slice 0).
    const aliveAt = (t: number) => {
      const { manager, clock } = makeManager({ timeout: 40, period: 20 });
      manager.get("s").set("x", 1);
      manager.commit();
      clock.set(t);
      return manager.has("s");
    };
    expect(aliveAt(40)).toBe(true); // exactly timeout idle
    expect(aliveAt(59.9)).toBe(true); // slice 40: 40 - 0 <= 40
    expect(aliveAt(60)).toBe(false); // slice 60: 60 - 0 > 40
  });
});

describe("lazy creation", () => {
  it("stores nothing and fires no event for a new session nobody modifies", () => {
    const { manager, store, events } = makeManager();
    const data = manager.get("new");
    expect(data.isNew).toBe(true);
    expect(data.version).toBe(0);
    expect(manager.commit()).toBe(0);
    expect(store.rowsWritten).toBe(0);
    expect(store.count()).toBe(0);
    expect(events).toEqual([]);
    expect(manager.has("new")).toBe(false);
  });

  it("stores nothing for a new session whose changes leave it without data", () => {
    const { manager, store, events } = makeManager();
    manager.get("cleared").clear();
    const emptied = manager.get("emptied");
    emptied.set("a", 1);
    emptied.delete("a");
    manager.get("dated").lastModified = 5;
    expect(manager.commit()).toBe(3);
    expect(store.rowsWritten).toBe(0);
    expect(events).toEqual([]);
    for (const key of ["cleared", "emptied", "dated"]) expect(manager.has(key)).toBe(false);
  });

  it("writes nothing for a change that leaves a stored session's data as it is", () => {
    const { manager, store, events, clock } = makeManager();
    manager.get("s").set("a", 1);
    manager.commit();
    const writes = store.rowsWritten;
    const eventCount = events.length;
    clock.set(5); // same period: no touch either
    const data = manager.get("s");
    data.set("a", 1);
    data.delete("missing");
    manager.commit();
    manager.get("s").clear();
    manager.get("s").set("a", 1);
    manager.commit();
    expect(store.rowsWritten).toBe(writes);
    expect(events).toHaveLength(eventCount);
    expect(manager.get("s").version).toBe(1);
  });

  it("stores a new session on its first modifying commit and fires begin once", () => {
    const { manager, store, events, clock } = makeManager();
    clock.set(100);
    manager.get("s").set("n", 1);
    manager.commit();
    expect(store.count()).toBe(1);
    expect(events).toHaveLength(1);
    const begin = events[0] as SessionBeginEvent;
    expect(begin).toBeInstanceOf(SessionBeginEvent);
    expect(begin.toJSON()).toEqual({
      id: `${manager.query("s")?.sid}:begin`,
      type: "begin",
      app: "default",
      key: "s",
      created: 100,
      lastModified: 100,
      at: 100,
    });
    manager.commit();
    manager.get("s").set("n", 2);
    manager.commit();
    expect(events).toHaveLength(1);
  });

  it("query and has never create", () => {
    const { manager, store } = makeManager();
    expect(manager.query("x")).toBeUndefined();
    expect(manager.query("x", "fallback")).toBe("fallback");
    expect(manager.has("x")).toBe(false);
    manager.commit();
    expect(store.rowsWritten).toBe(0);
  });
});

describe("a settings change", () => {
  /** A manager over `store` with the given settings, as an app reconfigured on purpose. */
  const reopen = (store: MemoryStore, clock: () => number, timeout: number, period: number) =>
    new SessionDataManager({ store, clock, timeout, period });

  it("lowering timeout and period ends no session sooner than the new timeout after its last access", () => {
    const store = new MemoryStore();
    let now = 13; // in the 20 s slice [0, 20)
    const before = reopen(store, () => now, 1200, 20);
    before.get("s").set("a", 1);
    before.commit();
    const after = reopen(store, () => now, 2, 1);
    // Each read is a unit of work of its own (abort), so it reads the store afresh.
    const hasAt = (t: number) => {
      now = t;
      const found = after.has("s");
      after.abort();
      return found;
    };
    expect(hasAt(13.3)).toBe(true);
    expect(hasAt(15.2)).toBe(true); // 1.9 s after the last access
    // Both reads fell before the end of its slice under the old period (20), which stays its
    // recorded end: the session ends 2 s after it.
    expect(hasAt(22)).toBe(false);
  });

  it("raising the timeout keeps every session at least the new timeout", () => {
    const store = new MemoryStore();
    let now = 0;
    const first = reopen(store, () => now, 30, 10);
    first.get("s").set("a", 1);
    first.commit();
    const after = reopen(store, () => now, 300, 10);
    now = 309.9;
    expect(after.has("s")).toBe(true); // touched: its slice now ends at 310
    after.abort();
    now = 609.9;
    expect(after.has("s")).toBe(true);
    after.abort();
    now = 1000;
    expect(after.has("s")).toBe(false);
  });

  it("keeps at most one write per period for reads after the period is raised or lowered", () => {
    const store = new MemoryStore();
    let now = 0;
    const first = reopen(store, () => now, 600, 20);
    first.get("s").set("a", 1);
    first.commit();
    const readsWrite = (manager: SessionDataManager, from: number, to: number) => {
      const writes = store.rowsWritten;
      for (now = from; now < to; now += 1) {
        expect(manager.has("s")).toBe(true);
        manager.abort();
      }
      return store.rowsWritten - writes;
    };
    // Raised to 60: the stored end (20) moves to 60 once, then once per 60 s period.
    expect(
      readsWrite(
        reopen(store, () => now, 600, 60),
        1,
        180,
      ),
    ).toBe(3);
    // Lowered to 5: nothing until the recorded end (180), then once per 5 s period.
    expect(
      readsWrite(
        reopen(store, () => now, 600, 5),
        180,
        200,
      ),
    ).toBe(4);
  });
});

describe("touch: at most one write per period", () => {
  it("writes once per period however often a session is read", () => {
    const { manager, store, clock } = makeManager({ timeout: 1200, period: 20 });
    clock.set(1000);
    manager.get("s").set("x", 1);
    manager.commit();
    const afterCreate = store.rowsWritten;

    for (const t of [1001, 1005, 1010, 1019.9]) {
      clock.set(t);
      manager.get("s");
      manager.commit();
      manager.query("s");
      manager.abort();
      manager.has("s");
      manager.abort();
    }
    expect(store.rowsWritten).toBe(afterCreate); // same period: no write

    clock.set(1020);
    manager.get("s");
    manager.commit();
    expect(store.rowsWritten).toBe(afterCreate + 1); // new period: one touch
    manager.query("s");
    manager.abort();
    manager.has("s");
    expect(store.rowsWritten).toBe(afterCreate + 1);
  });

  it("an access moves the slice, so the session lives on", () => {
    const { manager, clock } = makeManager({ timeout: 30, period: 10 });
    clock.set(0);
    manager.get("s").set("x", 1);
    manager.commit();
    for (let t = 25; t <= 250; t += 25) {
      clock.set(t);
      expect(manager.has("s")).toBe(true);
      manager.abort();
    }
  });
});

describe("invalidation", () => {
  it("removes the stored session, fires end (invalidated) and the next get is new", () => {
    const { manager, store, events, clock } = makeManager();
    clock.set(5);
    manager.get("s").set("name", "fred");
    manager.commit();
    clock.set(6);
    const data = manager.get("s");
    data.invalidate();
    expect(data.isValid()).toBe(false);
    manager.commit();
    expect(store.count()).toBe(0);
    const end = events.at(-1) as SessionEndEvent;
    expect(end.toJSON()).toMatchObject({
      type: "end",
      key: "s",
      reason: "invalidated",
      at: 6,
      data: { name: "fred" },
    });
    expect(end.id).toBe(`${events[0]?.id.split(":")[0]}:end`);
    const next = manager.get("s");
    expect(next.isNew).toBe(true);
    expect(next.size).toBe(0);
  });

  it("refuses changes to a session after invalidate() in the same unit of work", () => {
    const { manager } = makeManager();
    const data = manager.get("s");
    data.invalidate();
    expect(() => data.set("x", 1)).toThrow(/invalidated/);
  });

  it("an invalidated session that was never stored produces no event", () => {
    const { manager, events, store } = makeManager();
    manager.get("s").invalidate();
    manager.commit();
    expect(events).toEqual([]);
    expect(store.rowsWritten).toBe(0);
  });
});

describe("the sweep", () => {
  it("ends every expired session once and keeps live ones", () => {
    const { manager, clock, events, store } = makeManager({ timeout: 30, period: 10 });
    clock.set(0);
    for (const k of ["a", "b"]) manager.get(k).set("x", k);
    manager.commit();
    clock.set(20);
    manager.get("c").set("x", "c");
    manager.commit();
    clock.set(40); // a, b: 40 - 0 > 30; c: 40 - 20 <= 30
    expect(manager.sweep()).toBe(2);
    expect(manager.sweep()).toBe(0);
    expect(store.count()).toBe(1);
    const ends = events.filter((e) => e.type === "end");
    expect(ends.map((e) => e.key).sort()).toEqual(["a", "b"]);
    expect(ends.every((e) => (e as SessionEndEvent).reason === "expired")).toBe(true);
  });

  it("tells when the next session can expire", () => {
    const { manager, clock } = makeManager({ timeout: 30, period: 10 });
    expect(manager.nextExpiry()).toBeUndefined();
    clock.set(5);
    manager.get("a").set("x", 1);
    manager.commit();
    expect(manager.nextExpiry()).toBe(40); // slice 0; first N with N - 0 > 30
  });

  it("an access finds an expired session and ends it exactly once", () => {
    const { manager, clock, events } = makeManager({ timeout: 30, period: 10 });
    manager.get("a").set("x", 1);
    manager.commit();
    clock.set(100);
    expect(manager.query("a")).toBeUndefined();
    expect(manager.sweep()).toBe(0);
    expect(events.filter((e) => e.type === "end")).toHaveLength(1);
  });
});

describe("events", () => {
  it("every begin has exactly one end, with ids derived from the session", () => {
    const { manager, clock, events } = makeManager({ timeout: 30, period: 10 });
    manager.get("a").set("x", 1);
    manager.get("b").set("x", 1);
    manager.commit();
    manager.get("b").invalidate();
    manager.commit();
    clock.set(100);
    manager.sweep();
    const begins = events.filter((e) => e.type === "begin").map((e) => e.id.replace(/:begin$/, ""));
    const ends = events.filter((e) => e.type === "end").map((e) => e.id.replace(/:end$/, ""));
    expect(begins.sort()).toEqual(ends.sort());
    expect(new Set(begins).size).toBe(2);
  });

  it("unsubscribes", () => {
    const { manager } = makeManager();
    const seen: string[] = [];
    const off = manager.on("begin", (e) => seen.push(e.key));
    manager.get("a").set("x", 1);
    manager.commit();
    off();
    manager.get("b").set("x", 1);
    manager.commit();
    expect(seen).toEqual(["a"]);
  });

  it("carries the app name", () => {
    const { manager, events } = makeManager({ app: "shop" });
    manager.get("a").set("x", 1);
    manager.commit();
    expect(events[0]?.app).toBe("shop");
  });
});

describe("unit of work", () => {
  it("returns the same snapshot for the same key until commit or abort", () => {
    const { manager } = makeManager();
    const a = manager.get("s");
    expect(manager.get("s")).toBe(a);
    manager.abort();
    expect(manager.get("s")).not.toBe(a);
  });

  it("abort drops changes", () => {
    const { manager, store } = makeManager();
    manager.get("s").set("x", 1);
    manager.abort();
    manager.commit();
    expect(store.count()).toBe(0);
  });

  it("sees what other managers committed after the next access", () => {
    const store = new MemoryStore();
    const a = makeManager({ store }).manager;
    const b = makeManager({ store }).manager;
    a.get("s").set("x", 1);
    a.commit();
    expect(b.get("s").get("x")).toBe(1);
    b.commit();
    a.get("s").set("x", 2);
    a.commit();
    expect(b.get("s").get("x")).toBe(2);
  });

  it("commits several sessions all or none", () => {
    const store = new MemoryStore();
    const a = makeManager({ store }).manager;
    const b = makeManager({ store }).manager;
    a.get("s1").set("x", 1);
    a.commit();
    const s1 = b.get("s1");
    a.get("s1").set("x", 2);
    a.commit();
    s1.set("x", 3); // competes with a's x = 2
    b.get("s2").set("y", 1);
    expect(() => b.commit()).toThrow(/changed by another commit/);
    expect(store.load("s2")).toBeUndefined();
    expect(store.load("s1")?.data).toEqual({ x: 2 });
  });
});

describe("bad input", () => {
  it("refuses bad keys with a typed error and changes nothing", () => {
    const { manager, store } = makeManager();
    for (const key of ["", "a/b", "a b", "x".repeat(257), 3 as unknown as string]) {
      expect(() => manager.get(key)).toThrow(InvalidKeyError);
    }
    let refused: unknown;
    try {
      manager.get("no spaces");
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(InvalidKeyError);
    expect(refused).toMatchObject({ code: "invalid_key", status: 400 });
    expect(store.rowsWritten).toBe(0);
  });

  it("refuses bad settings naming the setting", () => {
    expect(() => new SessionDataManager({ timeout: 0 })).toThrow(/timeout/);
    expect(() => new SessionDataManager({ period: -1 })).toThrow(/period/);
    expect(() => new SessionDataManager({ period: Number.NaN })).toThrow(InvalidInputError);
    expect(() => new SessionDataManager({ maxSessionBytes: 2 * 1024 * 1024 })).toThrow(
      /maxSessionBytes/,
    );
    expect(() => new SessionDataManager({ app: "Bad App" })).toThrow(InvalidKeyError);
    expect(() => new SessionDataManager({ timeout: 1e12 })).toThrow(/timeout/);
    expect(() => new SessionDataManager({ timeout: 30, period: 60 })).toThrow(/period/);
  });

  it("defaults to repoze's timeout and period, and sets no limit per user", () => {
    const manager = new SessionDataManager();
    expect(manager.settings).toEqual({
      timeout: 1200,
      period: 20,
      maxSessionBytes: 131072,
      maxSessionsPerUser: 0,
    });
  });
});

describe("regenerate", () => {
  it("moves the data to a new key and ends the old one with reason regenerated", () => {
    const { manager, events, store } = makeManager();
    manager.get("old").set("user", "fred");
    manager.commit();
    const moved = manager.regenerate("old", "new");
    expect(moved.key).toBe("new");
    expect(moved.get("user")).toBe("fred");
    manager.commit();
    expect(manager.has("old")).toBe(false);
    expect(manager.get("new").get("user")).toBe("fred");
    expect(store.count()).toBe(1);
    const types = events.map((e) => `${e.type}:${e.key}:${"reason" in e ? e.reason : ""}`);
    expect(types).toEqual(["begin:old:", "end:old:regenerated", "begin:new:"]);
  });

  it("refuses a taken key and a missing session, changing nothing", () => {
    const { manager, store } = makeManager();
    manager.get("a").set("x", 1);
    manager.get("b").set("x", 2);
    manager.commit();
    const written = store.rowsWritten;
    expect(() => manager.regenerate("a", "b")).toThrow(/taken/);
    expect(() => manager.regenerate("missing", "c")).toThrow(ConflictError);
    expect(store.rowsWritten).toBe(written);
  });
});
