// Typed errors as they cross RPC and HTTP (src/routing/wire.ts): the error rebuilt on the caller's side
// carries what the thrown one did, and a conflict carries the current session in the one shape
// that every transport hands sessions out in.
import { describe, expect, it } from "vitest";
import { SessionEngine } from "../../src/core/engine";
import { ERROR_CODES, InvalidInputError, SessionError } from "../../src/core/errors";
import { sessionView } from "../../src/core/session-view";
import { resolveSettings } from "../../src/core/settings";
import {
  ConflictError,
  MemoryStore,
  SessionDataManager,
  SessionTooLargeError,
  SettingsMismatchError,
  unwrap,
  WrongShardError,
} from "../../src/index";
import { errorBody, errorFromBody } from "../../src/routing/wire";

/** Through `errorBody`, JSON (as RPC and HTTP carry it) and `unwrap` on the other side. */
function roundTrip<E extends Error>(error: E): E {
  const body = JSON.parse(JSON.stringify(errorBody(error as never)));
  return thrown(() => unwrap({ ok: false, error: body })) as E;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("nothing thrown");
}

describe("errors across transports", () => {
  it("keep bytes, limit, key and app of a SessionTooLargeError", () => {
    const engine = new SessionEngine({
      app: "shop",
      settings: resolveSettings({ maxSessionBytes: 10 }),
      store: new MemoryStore(),
    });
    const error = thrown(() =>
      engine.commit({ key: "k", sid: null, version: 0, set: { a: "x".repeat(20) } }, 1),
    );
    expect(error).toBeInstanceOf(SessionTooLargeError);
    const expected = { key: "k", app: "shop", bytes: 28, limit: 10, status: 413 };
    expect(error).toMatchObject(expected);
    const rebuilt = roundTrip(error);
    expect(rebuilt).toBeInstanceOf(SessionTooLargeError);
    expect(rebuilt).toMatchObject({ ...expected, message: error.message });
  });

  it("keep app and setting of a SettingsMismatchError", () => {
    const rebuilt = roundTrip(new SettingsMismatchError("shop", "timeout", 600, 900));
    expect(rebuilt).toBeInstanceOf(SettingsMismatchError);
    expect(rebuilt).toMatchObject({ app: "shop", setting: "timeout" });
  });

  it("keep app and key of a WrongShardError", () => {
    const rebuilt = roundTrip(new WrongShardError("shop", "k2", "wrong shard"));
    expect(rebuilt).toBeInstanceOf(WrongShardError);
    expect(rebuilt).toMatchObject({ app: "shop", key: "k2", code: "wrong_shard", status: 409 });
  });

  it("keep the key of a ConflictError whose session ended (no current session)", () => {
    const rebuilt = roundTrip(new ConflictError("k", "ended", null));
    expect(rebuilt).toBeInstanceOf(ConflictError);
    expect(rebuilt).toMatchObject({ key: "k", reason: "ended", current: null });
  });

  it("give ConflictError.current one shape in process and rebuilt: a SessionView", () => {
    const store = new MemoryStore();
    let now = 1;
    const one = new SessionDataManager({ store, clock: () => now });
    const two = new SessionDataManager({ store, clock: () => now });
    one.get("s").set("a", 1);
    one.commit();
    now = 2;
    one.get("s").set("a", 2);
    two.get("s").set("a", 3);
    one.commit();
    const error = thrown(() => two.commit()) as ConflictError;
    const view = {
      key: "s",
      sid: store.load("s")?.sid ?? null,
      version: 2,
      isNew: false,
      valid: true,
      created: 1,
      lastModified: 2,
      data: { a: 2 },
    };
    expect(error.current).toEqual(view);
    expect(Object.keys(error.current ?? {})).toEqual(Object.keys(view));
    const rebuilt = roundTrip(error);
    expect(rebuilt.current).toEqual(view);
    expect(Object.keys(rebuilt.current ?? {})).toEqual(Object.keys(view));
    // Whatever extra fields arrive, the rebuilt error holds exactly a SessionView.
    const body = { ...errorBody(error), current: { ...view, slice: 9 } as never };
    expect((errorFromBody(body) as ConflictError).current).toEqual(sessionView(view));
  });

  it("turn a code this version does not know into unknown_error, with the status and message answered", () => {
    const body = { code: "from_a_newer_peer", status: 422, message: "Do this instead." };
    const rebuilt = thrown(() => unwrap({ ok: false, error: body as never }));
    expect(rebuilt).toBeInstanceOf(SessionError);
    expect(rebuilt).toMatchObject({
      code: "unknown_error",
      status: 422,
      message: "Do this instead.",
    });
  });

  it("keep an unknown code answered with 400 an InvalidInputError (code unknown_error)", () => {
    const body = { code: "newer_input_rule", status: 400, message: "Send less." };
    const rebuilt = errorFromBody(body);
    expect(rebuilt).toBeInstanceOf(InvalidInputError);
    expect(rebuilt).toMatchObject({ code: "unknown_error", status: 400, message: "Send less." });
  });

  it("keep a known code and the status answered with it", () => {
    const rebuilt = errorFromBody({ code: "bad_request", status: 403, message: "No." });
    expect(rebuilt).toMatchObject({ code: "bad_request", status: 403 });
    expect(rebuilt).not.toBeInstanceOf(InvalidInputError);
  });
});

describe("error codes", () => {
  it("give an error the status of its code in ERROR_CODES", () => {
    expect(new SessionError("key_taken", "Use a fresh key.")).toMatchObject({
      code: "key_taken",
      status: 409,
      message: "Use a fresh key.",
    });
    expect(new SessionError("moved", "Route again.").status).toBe(ERROR_CODES.moved);
    expect(new ConflictError("k", "precondition", null).status).toBe(412);
  });

  it("refuse, when type-checked, a code that is not in ERROR_CODES", () => {
    // The assertion is the directive: `npm run typecheck` fails if the line compiles.
    // @ts-expect-error: not a code of ERROR_CODES
    const made = new SessionError("made_up", "A code nobody declared.");
    expect(made).toBeInstanceOf(SessionError);
  });
});
