import {
  ConflictError,
  type ConflictReason,
  InvalidInputError,
  InvalidKeyError,
  SessionError,
  SessionTooLargeError,
  SettingsMismatchError,
  WrongShardError,
} from "./errors.js";
import { type Layout, MovedError } from "./layout.js";
import { type SessionView, sessionView } from "./stored-session.js";

/**
 * An error as it crosses RPC and HTTP: `{ code, message, status }` plus the fields of its typed
 * error, so that the error rebuilt on the other side (`errorFromBody`) carries what the thrown one
 * did. Over HTTP, `status` is the response status and `current` sits beside `error`.
 */
export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  /** The app the error is about (`session_too_large`, `settings_mismatch`, `wrong_shard`). */
  app?: string;
  /** The session key the error is about (`conflict`, `session_ended`, `session_too_large`, `wrong_shard`). */
  key?: string;
  /** On conflicts: the stored session now (`null` when none). */
  current?: SessionView | null;
  /** On conflicts: the keys that conflicted. */
  keys?: string[];
  /** On a settings mismatch: the setting that differs. */
  setting?: string;
  /** On `session_too_large`: the bytes the session would have held. */
  bytes?: number;
  /** On `session_too_large`: the app's `maxSessionBytes`. */
  limit?: number;
  /** On `moved` (a redirection): the layout of the object that answered. */
  layout?: Layout;
  /** On `wrong_shard`: the app's shard count in force, when known. */
  shards?: number;
}

/**
 * What a Durable Object's RPC method returns. Workers RPC keeps only the message of a thrown
 * error, so typed errors travel as values and `unwrap` throws them again on the caller's side.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Runs `fn`; a `SessionError` becomes an error result, anything else is rethrown. */
export function resultOf<T>(fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof SessionError) return { ok: false, error: errorBody(error) };
    throw error;
  }
}

/** The transportable form of a `SessionError`. */
export function errorBody(error: SessionError): ErrorBody {
  const body: ErrorBody = { code: error.code, message: error.message, status: error.status };
  if (error instanceof ConflictError) {
    body.key = error.key;
    body.current = error.current;
    body.keys = error.keys;
  }
  if (error instanceof SettingsMismatchError) {
    body.app = error.app;
    body.setting = error.setting;
  }
  if (error instanceof SessionTooLargeError) {
    body.app = error.app;
    body.key = error.key;
    body.bytes = error.bytes;
    body.limit = error.limit;
  }
  if (error instanceof WrongShardError) {
    body.app = error.app;
    body.key = error.key;
    if (error.shards !== undefined) body.shards = error.shards;
  }
  if (error instanceof MovedError) body.layout = error.layout;
  return body;
}

/**
 * The typed error that an `ErrorBody` describes, with the fields the thrown one had. `key` is
 * the session key the call was about, for bodies that do not carry one.
 */
export function errorFromBody(body: ErrorBody, key = ""): SessionError {
  const about = body.key ?? key;
  switch (body.code) {
    case "conflict":
    case "session_ended":
    case "precondition_failed": {
      const current = body.current ? sessionView(body.current) : null;
      return Object.assign(
        new ConflictError(
          current?.key ?? about,
          CONFLICT_REASONS[body.code] ?? "conflict",
          current,
          body.keys ?? [],
        ),
        { message: body.message },
      );
    }
    case "settings_mismatch":
      return Object.assign(
        new SettingsMismatchError(body.app ?? "", body.setting ?? "", null, null),
        {
          message: body.message,
        },
      );
    case "invalid_key":
      return new InvalidKeyError(body.message);
    case "session_too_large":
      return Object.assign(
        new SessionTooLargeError(about, body.bytes ?? 0, body.limit ?? 0, body.app ?? ""),
        { message: body.message },
      );
    case "wrong_shard":
      return new WrongShardError(body.app ?? "", about, body.message, body.shards);
    default:
      if (body.status === 400) return new InvalidInputError(body.message, body.code);
      return new SessionError(body.code, body.status, body.message);
  }
}

const CONFLICT_REASONS: Record<string, ConflictReason> = {
  conflict: "conflict",
  session_ended: "ended",
  precondition_failed: "precondition",
};

/** The value of a result, or its error thrown. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw errorFromBody(result.error);
}
