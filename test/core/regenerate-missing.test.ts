// A regenerate of a key with no stored session: a refusal that says there is nothing to rotate,
// not that a session "ended before this commit".
import { describe, expect, it } from "vitest";
import { SessionEngine } from "../../src/core/engine";
import { resolveSettings } from "../../src/core/settings";
import { ConflictError, MemoryStore } from "../../src/index";
import { errorBody } from "../../src/routing/wire";

function engine() {
  const store = new MemoryStore();
  const e = new SessionEngine({ app: "a", settings: resolveSettings(), store, emit: () => {} });
  return { e, store };
}

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

describe("regenerate of a key with no stored session", () => {
  it("refuses a key never stored with session_ended 409, saying nothing is there to rotate", () => {
    const { e, store } = engine();
    const error = thrown(() => e.regenerate("never-stored", "new", 1));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "session_ended", status: 409, key: "never-stored" });
    expect((error as ConflictError).current).toBeNull();
    const { message } = error as ConflictError;
    expect(message).toMatch(/^No stored session "never-stored" to regenerate: it was never stored/);
    expect(message).toMatch(/store the session first/);
    expect(message).not.toMatch(/before this commit/);
    expect(store.load("new")).toBeUndefined();
  });

  it("gives the same answer for a session that has ended, and the wire body carries the message", () => {
    const { e } = engine();
    const stored = e.commit({ key: "k", sid: null, version: 0, set: { n: 1 } }, 1);
    e.invalidate("k", 2);
    expect(stored).not.toBeNull();
    const error = thrown(() => e.regenerate("k", "new", 3)) as ConflictError;
    expect(error.code).toBe("session_ended");
    expect(errorBody(error).message).toBe(error.message);
    expect(error.message).toMatch(/or it has ended \(expired, invalidated or regenerated\)/);
  });
});
