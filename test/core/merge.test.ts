import { describe, expect, it } from "vitest";
import { parseChangeset } from "../../src/core/changeset";
import { SessionEngine } from "../../src/core/engine";
import { resolveSettings } from "../../src/core/settings";
import { ConflictError, MemoryStore, type SessionData } from "../../src/index";
import { makeManager } from "./helpers";

/**
 * Two connections to one store. `first` and `second` each read the stored session, change it,
 * and commit in that order: the second commit meets the first one's changes.
 */
function scenario(
  seed: Record<string, unknown> | null,
  first: (d: SessionData) => void,
  second: (d: SessionData) => void,
) {
  const store = new MemoryStore();
  const one = makeManager({ store });
  const two = makeManager({ store });
  const events = [...one.events];
  if (seed !== null) {
    one.manager.get("s").update(seed as never);
    one.manager.commit();
  }
  const a = one.manager.get("s");
  const b = two.manager.get("s");
  first(a);
  one.manager.commit();
  second(b);
  let error: ConflictError | undefined;
  const writesBefore = store.rowsWritten;
  try {
    two.manager.commit();
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    error = e;
  }
  const stored = store.load("s");
  return {
    error,
    stored,
    writesOnConflict: error ? store.rowsWritten - writesBefore : undefined,
    events: [...events, ...one.events, ...two.events],
  };
}

describe("merge per key", () => {
  it("both adding disjoint keys: both kept", () => {
    const r = scenario(
      { base: 0 },
      (a) => a.set("x", 1),
      (b) => b.set("y", 2),
    );
    expect(r.error).toBeUndefined();
    expect(r.stored?.data).toEqual({ base: 0, x: 1, y: 2 });
    expect(r.stored?.version).toBe(3);
  });

  it("both writing the same new value to one key: conflict, or one of two increments is lost", () => {
    const r = scenario(
      { n: 1 },
      (a) => a.set("n", 2),
      (b) => b.set("n", 2),
    );
    expect(r.error?.keys).toEqual(["n"]);
    expect(r.stored?.data).toEqual({ n: 2 });
  });

  it("committed writing a key's own value again, new changing it: no conflict", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.set("x", 0),
      (b) => b.set("x", 5),
    );
    expect(r.error).toBeUndefined();
    expect(r.stored?.data).toEqual({ x: 5 });
  });

  it("both writing competing values to one key: the second conflicts and writes nothing", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.set("x", 1),
      (b) => b.set("x", 2),
    );
    expect(r.error).toBeInstanceOf(ConflictError);
    expect(r.error?.status).toBe(409);
    expect(r.error?.code).toBe("conflict");
    expect(r.error?.reason).toBe("conflict");
    expect(r.error?.keys).toEqual(["x"]);
    expect(r.error?.current?.data).toEqual({ x: 1 });
    expect(r.error?.current?.version).toBe(2);
    expect(r.writesOnConflict).toBe(0);
    expect(r.stored?.data).toEqual({ x: 1 });
  });

  it("competing values on one key and disjoint on another: the whole commit is refused", () => {
    const r = scenario(
      {},
      (a) => a.set("x", 1),
      (b) => b.set("x", 2).set("y", 3),
    );
    expect(r.error?.keys).toEqual(["x"]);
    expect(r.stored?.data).toEqual({ x: 1 });
  });

  it("committed deleting, new writing the same key: conflict", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.delete("x"),
      (b) => b.set("x", 5),
    );
    expect(r.error?.keys).toEqual(["x"]);
  });

  it("both deleting the same key: conflict, as for any key changed since the snapshot", () => {
    const r = scenario(
      { x: 0, y: 1 },
      (a) => a.delete("x"),
      (b) => b.delete("x"),
    );
    expect(r.error?.keys).toEqual(["x"]);
    expect(r.stored?.data).toEqual({ y: 1 });
  });

  it("committed clearing, new adding: conflict (clear changes every key)", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.clear(),
      (b) => b.set("y", 1),
    );
    expect(r.error?.keys).toEqual(["y"]);
    expect(r.stored?.data).toEqual({});
  });

  it("committed adding, new clearing: conflict", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.set("y", 1),
      (b) => b.clear(),
    );
    expect(r.error?.keys).toEqual(["y"]);
    expect(r.stored?.data).toEqual({ x: 0, y: 1 });
  });

  it("both clearing: conflict, as a clear changes every key", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.clear(),
      (b) => b.clear(),
    );
    expect(r.error?.reason).toBe("conflict");
    expect(r.error?.message).toMatch(/cleared/);
    expect(r.stored?.data).toEqual({});
  });

  it("committed clearing an already empty session, new adding: no conflict", () => {
    const store = new MemoryStore();
    const one = makeManager({ store }).manager;
    const two = makeManager({ store }).manager;
    one.get("s").set("x", 0);
    one.commit();
    one.get("s").delete("x");
    one.commit();
    const b = two.get("s");
    one.get("s").clear();
    one.commit();
    b.set("y", 1);
    expect(() => two.commit()).not.toThrow();
    expect(store.load("s")?.data).toEqual({ y: 1 });
  });

  it("a key changed and changed back still counts as changed", () => {
    const store = new MemoryStore();
    const one = makeManager({ store }).manager;
    const two = makeManager({ store }).manager;
    one.get("s").set("x", 0);
    one.commit();
    const b = two.get("s");
    one.get("s").set("x", 1);
    one.commit();
    one.get("s").set("x", 0);
    one.commit();
    b.set("x", 7);
    expect(() => two.commit()).toThrow(ConflictError);
  });

  it("committed invalidating, new writing: the session ended", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.invalidate(),
      (b) => b.set("y", 1),
    );
    expect(r.error?.reason).toBe("ended");
    expect(r.error?.code).toBe("session_ended");
    expect(r.error?.current).toBeNull();
    expect(r.stored).toBeUndefined();
    expect(r.events.filter((e) => e.type === "end")).toHaveLength(1);
  });

  it("committed writing, new invalidating: invalidation wins", () => {
    const r = scenario(
      { x: 0 },
      (a) => a.set("x", 1),
      (b) => b.invalidate(),
    );
    expect(r.error).toBeUndefined();
    expect(r.stored).toBeUndefined();
    const end = r.events.find((e) => e.type === "end");
    expect(end?.toJSON()).toMatchObject({ reason: "invalidated", data: { x: 1 } });
  });

  it("both creating the same new key with disjoint data: one session, one begin", () => {
    const r = scenario(
      null,
      (a) => a.set("x", 1),
      (b) => b.set("y", 2),
    );
    expect(r.error).toBeUndefined();
    expect(r.stored?.data).toEqual({ x: 1, y: 2 });
    expect(r.events.filter((e) => e.type === "begin")).toHaveLength(1);
  });

  it("both creating the same new key with competing values: conflict", () => {
    const r = scenario(
      null,
      (a) => a.set("x", 1),
      (b) => b.set("x", 2),
    );
    expect(r.error?.keys).toEqual(["x"]);
    expect(r.stored?.data).toEqual({ x: 1 });
  });

  it("lastModified after a merge is the larger of the two", () => {
    const store = new MemoryStore();
    const one = makeManager({ store });
    const two = makeManager({ store });
    one.manager.get("s").set("base", 0);
    one.manager.commit();
    two.clock.set(50);
    const b = two.manager.get("s");
    b.set("y", 1); // lastModified 50
    one.clock.set(80);
    one.manager.get("s").set("x", 1); // lastModified 80
    one.manager.commit();
    two.manager.commit();
    expect(store.load("s")?.lastModified).toBe(80);
  });
});

describe("changesets from outside (RPC, HTTP)", () => {
  const engine = () =>
    new SessionEngine({ app: "a", settings: resolveSettings(), store: new MemoryStore() });

  it("a changeset that changes data without lastModified is stamped with the commit time", () => {
    const e = engine();
    const stored = e.commit({ key: "s", sid: null, version: 0, set: { x: 1 } }, 70);
    expect(stored?.lastModified).toBe(70);
    const next = e.commit({ key: "s", sid: stored?.sid ?? null, version: 1, delete: ["x"] }, 90);
    expect(next?.lastModified).toBe(90);
  });

  it("a given lastModified is kept as given", () => {
    const e = engine();
    const stored = e.commit(
      { key: "s", sid: null, version: 0, set: { x: 1 }, lastModified: 75 },
      70,
    );
    expect(stored?.lastModified).toBe(75);
  });

  it("a given lastModified before the session was created is stored as created", () => {
    // A client's clock behind the object's: its change looks older than the session it made.
    const e = engine();
    const stored = e.commit(
      { key: "s", sid: null, version: 0, set: { x: 1 }, lastModified: 69.993 },
      70,
    );
    expect(stored).toMatchObject({ created: 70, lastModified: 70 });
    const next = e.commit(
      { key: "s", sid: stored?.sid ?? null, version: 1, set: { x: 2 }, lastModified: 1 },
      80,
    );
    expect(next).toMatchObject({ created: 70, lastModified: 70 });
  });
});

describe("ended sessions", () => {
  it("a snapshot of an expired session cannot be committed, even after the key was reused", () => {
    const store = new MemoryStore();
    const one = makeManager({ store, timeout: 30, period: 10 });
    const two = makeManager({ store, timeout: 30, period: 10 });
    one.manager.get("s").set("x", 1);
    one.manager.commit();
    const old = two.manager.get("s"); // version 1 of the first session
    one.clock.set(100); // the first session expired; a new one takes the key
    one.manager.get("s").set("x", 2);
    one.manager.commit();
    two.clock.set(100);
    old.set("x", 3);
    expect(() => two.manager.commit()).toThrow(expect.objectContaining({ reason: "ended" }));
    expect(store.load("s")?.data).toEqual({ x: 2 });
  });

  it("a snapshot of a session that expired meanwhile cannot be committed", () => {
    const store = new MemoryStore();
    const { manager, clock, events } = makeManager({ store, timeout: 30, period: 10 });
    manager.get("s").set("x", 1);
    manager.commit();
    const data = manager.get("s");
    data.set("x", 2);
    clock.set(100);
    expect(() => manager.commit()).toThrow(ConflictError);
    expect(events.filter((e) => e.type === "end")).toHaveLength(0); // rolled back with the commit
    expect(manager.sweep()).toBe(1);
  });
});

describe("guards on changesets from outside", () => {
  const engine = () =>
    new SessionEngine({ app: "a", settings: resolveSettings(), store: new MemoryStore() });

  it("refuses a version above the stored one as a conflict", () => {
    const e = engine();
    const stored = e.commit({ key: "s", sid: null, version: 0, set: { n: 2 } }, 1);
    expect(() =>
      e.commit({ key: "s", sid: stored?.sid ?? null, version: 99, set: { n: 5 } }, 2),
    ).toThrow(ConflictError);
    expect(e.store.load("s")?.data).toEqual({ n: 2 });
  });

  it("a changeset with a version but no sid is refused before anything happens", () => {
    expect(() => parseChangeset("s", { version: 1, set: { x: 1 } })).toThrow(/sid/);
    expect(parseChangeset("s", { version: 0, set: { x: 1 } }).sid).toBeNull();
  });

  it("invalidating a snapshot that was never stored leaves the stored session alone", () => {
    const e = engine();
    e.commit({ key: "s", sid: null, version: 0, set: { owner: "b" } }, 1);
    expect(e.commit({ key: "s", sid: null, version: 0, invalidate: true }, 2)).toBeNull();
    expect(e.store.load("s")?.data).toEqual({ owner: "b" });
  });

  it("keeps the versions of deleted keys bounded, and an older snapshot then conflicts", () => {
    const e = engine();
    let stored = e.commit({ key: "s", sid: null, version: 0, set: { keep: 1 } }, 1);
    const old = stored?.version ?? 0;
    for (let i = 0; i < 2000; i++) {
      const name = `k${i}`;
      stored = e.commit(
        { key: "s", sid: stored?.sid ?? null, version: stored?.version ?? 0, set: { [name]: i } },
        2,
      );
      stored = e.commit(
        { key: "s", sid: stored?.sid ?? null, version: stored?.version ?? 0, delete: [name] },
        2,
      );
    }
    expect(JSON.stringify(stored?.keyVersions).length).toBeLessThan(8192);
    expect(stored?.data).toEqual({ keep: 1 });
    expect(() =>
      e.commit({ key: "s", sid: stored?.sid ?? null, version: old, set: { keep: 2 } }, 3),
    ).toThrow(ConflictError);
  });
});

describe("exact commits (HTTP If-Match)", () => {
  const engine = () =>
    new SessionEngine({ app: "a", settings: resolveSettings(), store: new MemoryStore() });

  it("apply to exactly the named version", () => {
    const e = engine();
    const stored = e.commit({ key: "s", sid: null, version: 0, set: { a: 1 } }, 1);
    const sid = stored?.sid ?? null;
    const next = e.commit({ key: "s", sid, version: 1, set: { a: 2 }, exact: true }, 2);
    expect(next).toMatchObject({ version: 2, data: { a: 2 } });
  });

  it("refuse an older version with precondition_failed (412) where a merge would succeed", () => {
    const e = engine();
    const stored = e.commit({ key: "s", sid: null, version: 0, set: { a: 1, b: 1 } }, 1);
    const sid = stored?.sid ?? null;
    e.commit({ key: "s", sid, version: 1, set: { a: 2 } }, 2);
    let refused: unknown;
    try {
      e.commit({ key: "s", sid, version: 1, set: { b: 2 }, exact: true }, 3);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused).toMatchObject({
      code: "precondition_failed",
      status: 412,
      reason: "precondition",
      current: { version: 2, data: { a: 2, b: 1 } },
    });
    expect(e.store.load("s")?.data).toEqual({ a: 2, b: 1 });
    // Without `exact`, the same change merges.
    expect(e.commit({ key: "s", sid, version: 1, set: { b: 2 } }, 4)?.data).toEqual({ a: 2, b: 2 });
  });

  it("refuse another sid and a session that is gone, with current as it is", () => {
    const e = engine();
    const stored = e.commit({ key: "s", sid: null, version: 0, set: { a: 1 } }, 1);
    expect(() =>
      e.commit({ key: "s", sid: "other", version: 1, set: { a: 2 }, exact: true }, 2),
    ).toThrow(
      expect.objectContaining({
        code: "precondition_failed",
        current: expect.objectContaining({ sid: stored?.sid, version: 1 }),
      }),
    );
    e.invalidate("s", 3);
    expect(() =>
      e.commit(
        { key: "s", sid: stored?.sid ?? null, version: 1, exact: true, invalidate: true },
        4,
      ),
    ).toThrow(expect.objectContaining({ code: "precondition_failed", current: null }));
  });

  it("with version 0 apply only while no session is stored (HTTP If-None-Match: *)", () => {
    const e = engine();
    const created = e.commit({ key: "s", sid: null, version: 0, set: { a: 1 }, exact: true }, 1);
    expect(created).toMatchObject({ version: 1, data: { a: 1 } });
    // Without `exact`, a commit from version 0 would merge into the stored session.
    expect(() =>
      e.commit({ key: "s", sid: null, version: 0, set: { b: 1 }, exact: true }, 2),
    ).toThrow(expect.objectContaining({ code: "precondition_failed", current: expect.anything() }));
    expect(e.store.load("s")?.data).toEqual({ a: 1 });
  });

  it("with version 0 take no sid", () => {
    expect(() => parseChangeset("s", { version: 0, sid: "x", exact: true })).toThrow(/exact/);
    expect(parseChangeset("s", { version: 0, exact: true }).exact).toBe(true);
    expect(parseChangeset("s", { version: 1, sid: "x", exact: true }).exact).toBe(true);
  });
});
