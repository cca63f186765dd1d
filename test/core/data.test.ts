import { describe, expect, it } from "vitest";
import { KeyError, SessionTooLargeError } from "../../src/index";
import { makeManager } from "./helpers";

function fresh(at = 10) {
  const { manager, clock, store } = makeManager();
  clock.set(at);
  return { data: manager.get("s"), manager, clock, store };
}

describe("SessionData: the Map interface", () => {
  it("gets, sets, deletes and iterates in insertion order", () => {
    const { data } = fresh();
    expect(data.set("a", 1)).toBe(data);
    data.set("b", "two").set("c", [3]);
    expect(data.get("a")).toBe(1);
    expect(data.get("missing")).toBeUndefined();
    expect(data.get("missing", "d")).toBe("d");
    expect(data.has("b")).toBe(true);
    expect(data.size).toBe(3);
    expect([...data.keys()]).toEqual(["a", "b", "c"]);
    expect([...data.values()]).toEqual([1, "two", [3]]);
    expect([...data.entries()]).toEqual([
      ["a", 1],
      ["b", "two"],
      ["c", [3]],
    ]);
    expect([...data]).toEqual([...data.entries()]);
    const seen: string[] = [];
    data.forEach((v, k, d) => {
      expect(d).toBe(data);
      seen.push(`${k}=${JSON.stringify(v)}`);
    });
    expect(seen).toEqual(["a=1", 'b="two"', "c=[3]"]);
    expect(data.delete("a")).toBe(true);
    expect(data.delete("a")).toBe(false);
    data.clear();
    expect(data.size).toBe(0);
    expect(data.toJSON()).toEqual({});
  });

  it("keeps a '__proto__' key as plain data", () => {
    const { data, manager } = fresh();
    data.set("__proto__", { polluted: true });
    manager.commit();
    const again = manager.get("s");
    expect(again.get("__proto__")).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(again.toJSON())).toEqual(["__proto__"]);
  });
});

describe("SessionData: the dict extras", () => {
  it("update takes an object or entries", () => {
    const { data } = fresh();
    data.update({ a: 1, b: 2 });
    data.update([["c", 3]]);
    data.update(new Map([["d", 4]]));
    expect(data.toJSON()).toEqual({ a: 1, b: 2, c: 3, d: 4 });
  });

  it("update checks every value before changing any", () => {
    const { data } = fresh();
    expect(() => data.update({ a: 1, b: undefined as never })).toThrow(/"b"/);
    expect(data.size).toBe(0);
    expect(data.isModified).toBe(false);
  });

  it("pop returns and removes; a missing key throws without a default", () => {
    const { data } = fresh();
    data.set("a", 1);
    expect(data.pop("a")).toBe(1);
    expect(data.has("a")).toBe(false);
    expect(data.pop("a", "d")).toBe("d");
    expect(data.pop("a", undefined)).toBeUndefined();
    expect(() => data.pop("a")).toThrow(KeyError);
  });

  it("setdefault inserts only when missing, and modifies only then", () => {
    const { data, clock } = fresh(10);
    expect(data.setdefault("n", 0)).toBe(0);
    expect(data.lastModified).toBe(10);
    clock.set(20);
    expect(data.setdefault("n", 5)).toBe(0);
    expect(data.lastModified).toBe(10);
  });

  it("popitem removes the last inserted pair; throws when empty", () => {
    const { data } = fresh();
    data.set("a", 1).set("b", 2);
    expect(data.popitem()).toEqual(["b", 2]);
    expect(data.popitem()).toEqual(["a", 1]);
    expect(() => data.popitem()).toThrow(KeyError);
  });
});

describe("SessionData: attributes", () => {
  it("created is read-only", () => {
    const { data } = fresh(42);
    expect(data.created).toBe(42);
    expect(() => {
      (data as { created: number }).created = 1;
    }).toThrow(TypeError);
    expect(data.created).toBe(42);
  });

  it("lastModified is null until the first change; every mutating call stamps it", () => {
    const { data, clock } = fresh(10);
    expect(data.lastModified).toBeNull();
    data.get("x");
    data.has("x");
    expect(data.lastModified).toBeNull();
    const steps: [number, () => void][] = [
      [11, () => data.set("a", 1)],
      [12, () => data.update({ b: 2 })],
      [13, () => data.delete("a")],
      [14, () => data.pop("b")],
      [15, () => data.setdefault("c", 3)],
      [16, () => data.popitem()],
      [17, () => data.clear()],
    ];
    for (const [t, step] of steps) {
      clock.set(t);
      step();
      expect(data.lastModified).toBe(t);
    }
  });

  it("lastModified can be assigned, and the stored session keeps it", () => {
    const { data, manager, clock } = fresh(10);
    data.set("a", 1);
    data.lastModified = 30;
    manager.commit();
    expect(manager.get("s").lastModified).toBe(30);
    // Assigned alone, to a stored session: stored too.
    clock.set(11);
    manager.get("s").lastModified = 40;
    manager.commit();
    expect(manager.get("s")).toMatchObject({ lastModified: 40, version: 2 });
  });

  it("is stamped with the commit's time where it is stored, never before created", () => {
    // get at 10, change at 11, commit at 12: the session is created by the commit, at 12.
    const { data, manager, clock } = fresh(10);
    clock.set(11);
    data.set("a", 1);
    expect(data.lastModified).toBe(11);
    clock.set(12);
    manager.commit();
    const stored = manager.get("s");
    expect(stored.created).toBe(12);
    expect(stored.lastModified).toBe(12);
    // An assigned time before the session existed is stored as its creation.
    stored.lastModified = 5;
    manager.commit();
    expect(manager.get("s").lastModified).toBe(12);
  });

  it("isNew is true until stored; version counts stored changes", () => {
    const { data, manager } = fresh();
    expect(data.isNew).toBe(true);
    data.set("a", 1);
    manager.commit();
    const stored = manager.get("s");
    expect(stored.isNew).toBe(false);
    expect(stored.version).toBe(1);
    stored.set("a", 2);
    manager.commit();
    expect(manager.get("s").version).toBe(2);
  });
});

describe("SessionData: JSON values only", () => {
  class Point {
    x = 1;
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad: [string, unknown][] = [
    ["undefined", undefined],
    ["function", () => 1],
    ["symbol", Symbol("s")],
    ["bigint", 1n],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["class instance", new Point()],
    ["Date", new Date(0)],
    ["Map", new Map()],
    ["cycle", cyclic],
    ["nested undefined", { a: [1, { b: undefined }] }],
    // biome-ignore lint/suspicious/noSparseArray: a sparse array is the case under test
    ["sparse array", [1, , 3]],
  ];

  for (const [name, value] of bad) {
    it(`refuses ${name} with a TypeError naming the key`, () => {
      const { data } = fresh();
      expect(() => data.set("the-key", value as never)).toThrow(TypeError);
      expect(() => data.set("the-key", value as never)).toThrow(/"the-key"/);
      expect(data.has("the-key")).toBe(false);
      expect(data.isModified).toBe(false);
    });
  }

  it("accepts every JSON value", () => {
    const { data, manager } = fresh();
    const value = { n: null, t: true, f: 1.5, s: "x", a: [1, [2]], o: { deep: { er: "" } } };
    data.set("v", value);
    manager.commit();
    expect(manager.get("s").get("v")).toEqual(value);
  });

  it("keeps its own copy: changing the original or the read value changes nothing", () => {
    const { data } = fresh();
    const original = { list: [1] };
    data.set("v", original);
    original.list.push(2);
    expect(data.get("v")).toEqual({ list: [1] });
    const read = data.get("v") as { list: number[] };
    expect(() => read.list.push(3)).toThrow(TypeError);
  });

  it("refuses non-string keys", () => {
    const { data } = fresh();
    expect(() => data.set(1 as unknown as string, 1)).toThrow(TypeError);
  });
});

describe("size limit", () => {
  it("refuses a commit over maxSessionBytes whole, writing nothing", () => {
    const { manager, store } = makeManager({ maxSessionBytes: 100 });
    manager.get("s").set("a", "x".repeat(50));
    manager.commit();
    const written = store.rowsWritten;
    const data = manager.get("s");
    data.set("b", "y".repeat(60));
    let error: unknown;
    try {
      manager.commit();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SessionTooLargeError);
    expect((error as SessionTooLargeError).status).toBe(413);
    expect((error as SessionTooLargeError).code).toBe("session_too_large");
    expect(store.rowsWritten).toBe(written);
    expect(manager.get("s").toJSON()).toEqual({ a: "x".repeat(50) });
  });

  it("counts UTF-8 bytes of the serialized data", () => {
    const { manager } = makeManager({ maxSessionBytes: 20 });
    manager.get("s").set("k", "é".repeat(6)); // {"k":"éééééé"}: 8 + 12 bytes = 20
    expect(manager.commit()).toBe(1);
    manager.get("t").set("k", "é".repeat(7)); // 22 bytes
    expect(() => manager.commit()).toThrow(SessionTooLargeError);
  });

  it("never stores a new session that is too large", () => {
    const { manager, store, events } = makeManager({ maxSessionBytes: 10 });
    manager.get("s").set("a", "x".repeat(20));
    expect(() => manager.commit()).toThrow(SessionTooLargeError);
    expect(store.count()).toBe(0);
    expect(events).toEqual([]);
  });
});
