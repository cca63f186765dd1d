/**
 * The bodies of error answers: `{ error: { code, message } }`, and the fields some errors add
 * (a refused commit's keys and stored session, a settings mismatch, a session too large, a key
 * on another shard).
 */
import * as v from "valibot";
import type { ErrorCode } from "../../src/core/errors";
import { SessionSchema } from "./sessions";

/** The error codes an answer may carry: at least one. */
export type Codes = readonly [ErrorCode, ...ErrorCode[]];

/** The codes each error body carries, for `anyError`. */
const CODES = new WeakMap<v.GenericSchema, Codes>();

/** `{ code, message }` with one of `codes`, then `fields`. */
function errorObject(codes: Codes, fields: v.ObjectEntries) {
  return v.strictObject({
    code: v.pipe(v.picklist(codes), v.description("Stable and machine-readable: narrow on it.")),
    message: v.pipe(v.string(), v.description("What went wrong and what to do.")),
    ...fields,
  });
}

/** `{ error: { code, message } }` with one of `codes`, and the error's own `fields`. */
export function errorBody(codes: Codes, fields: v.ObjectEntries = {}) {
  const body = v.strictObject({ error: errorObject(codes, fields) });
  CODES.set(body, codes);
  return body;
}

/**
 * One of several error bodies of one status, which says first every `error.code` the status can
 * carry (an enum a generated client narrows on), then the exact shape of each.
 */
export function anyError(bodies: [v.GenericSchema, v.GenericSchema, ...v.GenericSchema[]]) {
  const codes = bodies.flatMap((body) => {
    const known = CODES.get(body);
    if (known === undefined)
      throw new Error("anyError takes the bodies of errorBody or conflictBody");
    return [...known];
  }) as unknown as Codes;
  const all = v.object({
    error: v.object({ code: v.picklist(codes), message: v.string() }),
  });
  return v.intersect([all, v.union(bodies)]);
}

/** A refused commit: `error.key` and `error.keys` (the keys that conflicted), the stored `current`. */
export function conflictBody(codes: Codes) {
  const body = v.strictObject({
    error: errorObject(codes, {
      key: v.pipe(v.string(), v.description("The session key the commit was for.")),
      keys: v.pipe(v.array(v.string()), v.description("The keys that conflicted.")),
    }),
    current: v.pipe(
      v.nullable(SessionSchema),
      v.description("The stored session now; null when there is none."),
    ),
  });
  CODES.set(body, codes);
  return body;
}

/** A settings mismatch names the app and the `setting` that differs. */
export const SettingsMismatchBody = errorBody(["settings_mismatch"], {
  app: v.string(),
  setting: v.string(),
});

/** A session over the app's `maxSessionBytes`: what it would hold, and the limit. */
export const SessionTooLargeBody = errorBody(["session_too_large"], {
  app: v.string(),
  key: v.string(),
  bytes: v.pipe(v.number(), v.description("The bytes the session's data would take.")),
  limit: v.pipe(v.number(), v.description("The app's maxSessionBytes.")),
});

/** A key moved to another shard than the session's (`regenerate`, or a commit's `newKey`). */
export const WrongShardBody = errorBody(["wrong_shard"], {
  app: v.string(),
  key: v.pipe(v.string(), v.description("The key that lives on another shard.")),
  shards: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.description(
        "The shard count to pick the new key with: the one in force, or while a second move waits, a multiple of both.",
      ),
    ),
  ),
});
