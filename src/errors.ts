import type { SessionView } from "./session-view.js";

/**
 * Typed errors. Each carries a machine-readable `code` and the HTTP `status` that fits it, and
 * its message says what to do about it.
 */

/** Every error this library throws on purpose. */
export class SessionError extends Error {
  /** Machine-readable code, stable across versions (e.g. `invalid_key`). */
  readonly code: string;
  /** The HTTP status that fits the error. */
  readonly status: number;

  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }

  /**
   * A plain JSON body, `{ error: { code, message } }`, for an app that answers the error itself
   * (and for `getResponse()`). The HTTP API's `onError` answers a fuller body, with the fields
   * of each typed error (`errorBody` in src/wire.ts).
   */
  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }

  /**
   * The error as a response: its status and `toJSON()` body. Hono's default error handler answers
   * with it (as it does for `HTTPException`), so an app without `onError` answers a session
   * error with its own status instead of a 500.
   */
  getResponse(): Response {
    return Response.json(this.toJSON(), { status: this.status });
  }
}

/** A key, app name or other identifier that does not fit its format (400). */
export class InvalidKeyError extends SessionError {
  constructor(message: string) {
    super("invalid_key", 400, message);
  }
}

/** A malformed argument, changeset or setting (400). */
export class InvalidInputError extends SessionError {
  constructor(message: string, code = "invalid_input") {
    super(code, 400, message);
  }
}

/**
 * A session whose serialized data would exceed the app's `maxSessionBytes` (413). Nothing was
 * written. `bytes` is the size the commit would have made, `limit` the app's `maxSessionBytes`.
 */
export class SessionTooLargeError extends SessionError {
  readonly key: string;
  readonly bytes: number;
  readonly limit: number;
  /** The app whose limit it is. */
  readonly app: string;

  constructor(key: string, bytes: number, limit: number, app: string) {
    super(
      "session_too_large",
      413,
      `Session "${key}" of app "${app}" would hold ${bytes} bytes of data, over the app's limit of ${limit} bytes (maxSessionBytes). Store less in the session, or raise maxSessionBytes (at most 1 MiB).`,
    );
    this.key = key;
    this.bytes = bytes;
    this.limit = limit;
    this.app = app;
  }
}

/** An app opened with settings that differ from the ones stored with it (409). */
export class SettingsMismatchError extends SessionError {
  readonly app: string;
  readonly setting: string;

  constructor(app: string, setting: string, stored: unknown, given: unknown) {
    super(
      "settings_mismatch",
      409,
      `App "${app}" is stored with ${setting}=${JSON.stringify(stored)} but was opened with ${setting}=${JSON.stringify(given)}. Open it with the stored settings, or reconfigure the app on purpose.`,
    );
    this.app = app;
    this.setting = setting;
  }
}

/**
 * A session operation sent to a Durable Object that does not hold the key (409): the app's
 * sessions spread over shards by `shardOf(key, shards)`, and a key lives only on its shard.
 * `regenerate` refuses a new key of another shard, since the move could not be atomic.
 */
export class WrongShardError extends SessionError {
  readonly app: string;
  readonly key: string;
  /**
   * The shard count to pick the new key with, when known: the count in force, or during a move
   * with another count waiting, a multiple of both (docs/DESIGN.md#resharding).
   */
  readonly shards: number | undefined;

  constructor(app: string, key: string, message: string, shards?: number) {
    super("wrong_shard", 409, message);
    this.app = app;
    this.key = key;
    this.shards = shards;
  }
}

/**
 * Why a commit was refused: a competing change to the same key, the session has ended, or an
 * exact commit (HTTP `If-Match`) found another version than the one it names.
 */
export type ConflictReason = "conflict" | "ended" | "precondition";

/**
 * A commit that could not be applied: another unit of work changed the same keys to other
 * values since the snapshot was read, or the session ended (expired or invalidated) (409); or an
 * exact commit found the session at another version or sid, or none (412 `precondition_failed`).
 * Nothing was written. `current` is the stored session as it is now (`null` when there is none);
 * start the unit of work again from a fresh `get`.
 */
export class ConflictError extends SessionError {
  readonly key: string;
  readonly reason: ConflictReason;
  /** The keys whose competing changes caused the conflict (empty unless `reason` is `conflict`). */
  readonly keys: string[];
  /**
   * The stored session now, in the form every transport hands sessions out. Not enumerable, so
   * that an error that is logged or serialized (`console.error`, `JSON.stringify`) never carries
   * the session's data.
   */
  declare readonly current: SessionView | null;

  constructor(
    key: string,
    reason: ConflictReason,
    current: SessionView | null,
    keys: string[] = [],
  ) {
    super(
      CONFLICT_CODES[reason],
      reason === "precondition" ? 412 : 409,
      conflictMessage(key, reason, keys),
    );
    this.key = key;
    this.reason = reason;
    this.keys = keys;
    Object.defineProperty(this, "current", { value: current, enumerable: false });
  }
}

/** Options of the errors of an unreachable session service. */
export interface ServiceErrorOptions {
  /** Machine-readable code; defaults to the class's own. */
  code?: string;
  /** HTTP status; defaults to the class's own. */
  status?: number;
  /** The error the runtime or `fetch` raised. */
  cause?: unknown;
}

/**
 * The session service did not answer: unreachable, dropped connection, or a 5xx from a proxy in
 * front of it (503 `service_unavailable`). Whether a change sent with the failed call was
 * applied is unknown: read the session again before deciding. Callers fail closed: a request
 * whose session could not be loaded or stored must not answer as if it had been.
 */
export class SessionUnavailableError extends SessionError {
  constructor(message: string, options: ServiceErrorOptions = {}) {
    super(options.code ?? "service_unavailable", options.status ?? 503, message);
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * The session service is overloaded and refused the call (503 `service_overloaded`). It is not
 * retried (that would add load): answer 503 and let the client come back later.
 */
export class SessionOverloadedError extends SessionUnavailableError {
  constructor(message: string, options: ServiceErrorOptions = {}) {
    super(message, { code: "service_overloaded", status: 503, ...options });
  }
}

/**
 * The session service did not answer within the client's `timeout` (504 `service_timeout`). A
 * change sent with the call may still have been applied.
 */
export class SessionTimeoutError extends SessionUnavailableError {
  constructor(message: string, options: ServiceErrorOptions = {}) {
    super(message, { code: "service_timeout", status: 504, ...options });
  }
}

const CONFLICT_CODES: Record<ConflictReason, string> = {
  conflict: "conflict",
  ended: "session_ended",
  precondition: "precondition_failed",
};

function conflictMessage(key: string, reason: ConflictReason, keys: string[]): string {
  switch (reason) {
    case "ended":
      return `Session "${key}" ended (expired or invalidated) before this commit. Get the session again and redo the change.`;
    case "precondition":
      return `Session "${key}" is not the version that If-Match names: it was changed, ended or replaced since it was read. Nothing was written; get it again (its ETag is in the answer) and redo the change.`;
    default:
      return `Session "${key}" was changed by another commit since it was read (${keys.length > 0 ? `keys: ${keys.map((k) => JSON.stringify(k)).join(", ")}` : "it was cleared"}). Get the session again and redo the change.`;
  }
}

/** An error as one line for a log: its name and message (anything else as text). */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
