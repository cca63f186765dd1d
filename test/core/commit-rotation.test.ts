import { describe, expect, it } from "vitest";
import { parseChangeset } from "../../src/core/changeset";
import { SessionEngine } from "../../src/core/engine";
import { resolveSettings } from "../../src/core/settings";
import { ConflictError, InvalidInputError, MemoryStore, type SessionEvent } from "../../src/index";
import { errorBody } from "../../src/routing/wire";

/** An engine over a memory store that records the events it emits. */
function engine() {
  const store = new MemoryStore();
  const events: SessionEvent[] = [];
  const e = new SessionEngine({
    app: "a",
    settings: resolveSettings(),
    store,
    emit: (batch) => events.push(...batch),
  });
  const seeded = e.commit({ key: "old", sid: null, version: 0, set: { cart: ["apple"] } }, 1);
  if (seeded === null) throw new Error("not stored");
  events.length = 0;
  return { e, store, events, seeded };
}

describe("a commit that also rotates the session ID (newKey)", () => {
  it("applies the changes, then moves the session, in one transaction", () => {
    const { e, store, events, seeded } = engine();
    const moved = e.commit(
      { key: "old", sid: seeded.sid, version: 1, set: { user: "ann" }, newKey: "new" },
      2,
    );
    expect(moved?.key).toBe("new");
    expect(moved?.data).toEqual({ cart: ["apple"], user: "ann" });
    expect(moved?.created).toBe(seeded.created);
    expect(store.load("old")).toBeUndefined();
    expect(store.load("new")?.data).toEqual({ cart: ["apple"], user: "ann" });
    expect(
      events.map((ev) => `${ev.type}:${ev.key}:${ev.type === "end" ? ev.reason : ""}`),
    ).toEqual(["end:old:regenerated", "begin:new:"]);
  });

  it("rotates a session with no changes", () => {
    const { e, store, seeded } = engine();
    const moved = e.commit({ key: "old", sid: seeded.sid, version: 1, newKey: "new" }, 2);
    expect(moved?.data).toEqual({ cart: ["apple"] });
    expect(store.load("old")).toBeUndefined();
  });

  it("moves nothing and writes nothing when the changes conflict", () => {
    const { e, store, events, seeded } = engine();
    e.commit({ key: "old", sid: seeded.sid, version: 1, set: { cart: ["pear"] } }, 2);
    events.length = 0;
    const writes = store.rowsWritten;
    expect(() =>
      e.commit(
        { key: "old", sid: seeded.sid, version: 1, set: { cart: ["plum"] }, newKey: "new" },
        3,
      ),
    ).toThrow(ConflictError);
    expect(store.rowsWritten).toBe(writes);
    expect(store.load("old")?.data).toEqual({ cart: ["pear"] });
    expect(store.load("new")).toBeUndefined();
    expect(events).toEqual([]);
  });

  it("changes nothing when the new key is taken", () => {
    const { e, store, seeded } = engine();
    e.commit({ key: "taken", sid: null, version: 0, set: { x: 1 } }, 2);
    expect(() =>
      e.commit({ key: "old", sid: seeded.sid, version: 1, set: { y: 2 }, newKey: "taken" }, 3),
    ).toThrow(/taken/);
    expect(store.load("old")?.data).toEqual({ cart: ["apple"] });
    expect(store.load("taken")?.data).toEqual({ x: 1 });
  });
});

describe("parsing newKey", () => {
  const parse = (body: object) => () => parseChangeset("old", body);

  it("accepts it with the version and sid of a stored session", () => {
    expect(parseChangeset("old", { version: 1, sid: "s", newKey: "new" }).newKey).toBe("new");
  });

  it("refuses it for a session never stored, with invalidate, equal to the key, or malformed", () => {
    expect(parse({ version: 0, newKey: "new" })).toThrow(/newKey.*stored session/);
    expect(parse({ version: 1, sid: "s", invalidate: true, newKey: "new" })).toThrow(
      /exclude each other/,
    );
    expect(parse({ version: 1, sid: "s", newKey: "old" })).toThrow(/must differ/);
    expect(parse({ version: 1, sid: "s", newKey: 7 })).toThrow(InvalidInputError);
    expect(parse({ version: 1, sid: "s", newKey: "" })).toThrow(/key/);
  });
});

describe("ConflictError keeps the session's data out of logs", () => {
  const current = {
    key: "k",
    sid: "s",
    version: 2,
    isNew: false,
    valid: true,
    created: 1,
    lastModified: 1,
    data: { secret: "hunter2" },
  };
  const error = new ConflictError("k", "conflict", current, ["secret"]);

  it("does not show the data when inspected, logged or serialized", async () => {
    // node:util through a variable: the core's tsconfig has no Node types. console.error prints
    // an error with util.inspect.
    const util = "node:util";
    const { inspect } = (await import(util)) as { inspect: (value: unknown) => string };
    expect(inspect(error)).not.toContain("hunter2");
    expect(JSON.stringify(error)).not.toContain("hunter2");
    expect(String(error)).not.toContain("hunter2");
    expect(Object.keys(error)).not.toContain("current");
  });

  it("still carries the current session for the caller, and over RPC and HTTP", () => {
    expect(error.current?.data).toEqual({ secret: "hunter2" });
    expect(errorBody(error).current?.data).toEqual({ secret: "hunter2" });
  });
});
