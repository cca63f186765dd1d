import {
  ConflictError,
  InvalidInputError,
  InvalidKeyError,
  SessionError,
  SessionTooLargeError,
  SettingsMismatchError,
} from "./errors";
import { type Layout, MovedError, WrongShardError } from "./layout";
import type { SessionSnapshot } from "./stored-session";

/** An error as it crosses RPC and HTTP: `{ code, message, status }`, plus the conflict details. */
export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  /** On conflicts: the stored session now (`null` when none). */
  current?: SessionSnapshot | null;
  /** On conflicts: the keys that conflicted. */
  keys?: string[];
  /** On a settings mismatch: the setting that differs. */
  setting?: string;
  /** On `moved` (a redirection): the layout of the object that answered. */
  layout?: Layout;
  /** On `wrong_shard`: the app's shard count in force. */
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
    body.current = error.current;
    body.keys = error.keys;
  }
  if (error instanceof SettingsMismatchError) body.setting = error.setting;
  if (error instanceof MovedError) body.layout = error.layout;
  if (error instanceof WrongShardError) body.shards = error.shards;
  return body;
}

/** The typed error that an `ErrorBody` describes. */
export function errorFromBody(body: ErrorBody, key = ""): SessionError {
  switch (body.code) {
    case "conflict":
    case "session_ended":
      return Object.assign(
        new ConflictError(
          body.current?.key ?? key,
          body.code === "conflict" ? "conflict" : "ended",
          body.current ?? null,
          body.keys ?? [],
        ),
        { message: body.message },
      );
    case "settings_mismatch":
      return Object.assign(new SettingsMismatchError("", body.setting ?? "", null, null), {
        message: body.message,
      });
    case "invalid_key":
      return new InvalidKeyError(body.message);
    case "wrong_shard":
      if (body.shards === undefined) return new SessionError(body.code, body.status, body.message);
      return Object.assign(new WrongShardError("", key, "", body.shards), {
        message: body.message,
      });
    case "session_too_large": {
      const error = new SessionTooLargeError(key, 0, 0);
      return Object.assign(error, { message: body.message });
    }
    default:
      if (body.status === 400) return new InvalidInputError(body.message, body.code);
      return new SessionError(body.code, body.status, body.message);
  }
}

/** The value of a result, or its error thrown. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw errorFromBody(result.error);
}
