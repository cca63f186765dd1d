import type { SessionView } from "./session-view.js";

/**
 * Typed errors. Each carries a machine-readable `code` and the HTTP `status` that fits it, and
 * its message says what to do about it.
 */

/**
 * Every error code the system answers, each with its HTTP status: the one table of codes. A code
 * is stable across versions and part of the HTTP API (the OpenAPI document lists the ones each
 * route answers). "As answered" marks the few codes whose status is the one of the answer they
 * stand for (the table gives the usual one); every other code always has the status given here.
 */
export const ERROR_CODES = {
  // Input, checked by the core (every transport) or the worker.
  /** A session key, app name or other identifier that does not fit its format. */
  invalid_key: 400,
  /** A malformed argument. */
  invalid_input: 400,
  /** A changeset that is not one (a field of the wrong type, a key both set and deleted, ...). */
  invalid_changeset: 400,
  /** App settings out of range, of the wrong type or unknown. */
  invalid_settings: 400,
  /** A user identifier that is not one: empty, longer than 256 characters, or not a string. */
  invalid_user: 400,
  /** Sign-in labels that are not a small JSON object (at most 1 KiB serialized). */
  invalid_labels: 400,
  /** A shard layout that is not one (sent between Durable Objects). */
  invalid_layout: 400,
  /** A call for another app than the one the Durable Object holds. */
  wrong_app: 400,
  /** A layout question or report sent to a shard instead of the app's home object. */
  not_home: 400,

  // Commits and the session rules.
  /** Another commit changed the same keys since the snapshot was read (`ConflictError`). */
  conflict: 409,
  /** The session ended (expired or invalidated) before the commit (`ConflictError`). */
  session_ended: 409,
  /** An exact commit (HTTP `If-Match`) found another version or sid, or none (`ConflictError`). */
  precondition_failed: 412,
  /** Serialized session data over the app's `maxSessionBytes` (`SessionTooLargeError`). */
  session_too_large: 413,
  /** An app opened with other settings than the stored ones (`SettingsMismatchError`). */
  settings_mismatch: 409,
  /** `regenerate` to a key that is taken. */
  key_taken: 409,
  /** A change to a session invalidated in this unit of work. */
  session_invalidated: 409,
  /** `regenerate` with changes not committed yet. */
  uncommitted_changes: 409,
  /** A commit of a session whose previous commit has not finished. */
  commit_in_progress: 409,
  /** Data the Hono middleware read again (`reload()`, or a new session after `destroy()`), changed (docs/DESIGN.md#after-commit). */
  session_replaced: 409,
  /** The Hono middleware: `regenerate()` after `destroy()` in one request. */
  session_destroyed: 409,
  /** The Hono middleware's default answer to a conflict (no session data in it). */
  session_conflict: 409,
  /** A missing key of session data, as Python's `KeyError` (`pop`, `popitem`). */
  key_not_found: 404,
  /** No live session at the key. */
  not_found: 404,
  /** An app never opened nor used, or one deleted since. */
  app_not_found: 404,
  /** No live session is bound to the user (never signed in, or every session has ended). */
  user_not_found: 404,
  /** No live session of the user has the handle (unknown, ended, or another user's). */
  handle_not_found: 404,

  // Shards and moves between them.
  /** A key moved to another shard than the session's (`WrongShardError`). */
  wrong_shard: 409,
  /** A key this object does not own (`MovedError`); routers follow it, callers never see it. */
  moved: 421,
  /** The layout is changing or an object could not be reached: retry in a moment. */
  unavailable: 503,
  /** Sessions cannot move: the object has no namespace to reach the app's other objects. */
  reshard_unavailable: 503,
  /** Sessions cannot move: the app lives in an object made without a name (`getByName`). */
  unnamed_object: 409,
  /** A write that failed in storage: nothing of it was stored. */
  storage_error: 500,

  // Deleting an app (docs/DESIGN.md#deleting-an-app).
  /** The app is being deleted: the call changed nothing; once deleted, the name is free again. */
  app_deleting: 503,
  /** An app cannot be deleted while its sessions move between shards: retry once the move ends. */
  app_moving: 409,

  // The worker's HTTP layer (`HttpError`, `onError`).
  /** A request body that is not JSON (or not UTF-8). */
  invalid_json: 400,
  /** An `If-Match`, `If-None-Match` or `Require-Precondition` header that is not valid. */
  invalid_precondition: 400,
  /** A client error that Hono itself raised; its status as answered (400 unless Hono says). */
  bad_request: 400,
  /** The API token is missing or wrong. */
  unauthorized: 401,
  /** No route for the path. */
  no_route: 404,
  /** A method the path does not have. */
  method_not_allowed: 405,
  /** A request body over the limit. */
  body_too_large: 413,
  /** A request body that is not `application/json`. */
  unsupported_media_type: 415,
  /** A write without the precondition that `Require-Precondition: true` asks for. */
  precondition_required: 428,
  /** An unexpected error; the details are in the worker's log. */
  internal: 500,
  /** No API token is configured: the API refuses every request. */
  not_configured: 503,

  // Clients of the session service.
  /** The service could not be reached, or a proxy answered 502 or 503 for it. As answered. */
  service_unavailable: 503,
  /** The service is overloaded (503), or a proxy answered 429. As answered. */
  service_overloaded: 503,
  /** No answer within the client's `callTimeout`, or a gateway timed out. */
  service_timeout: 504,
  /**
   * An error answer this version cannot name: a code from a newer peer, or an HTTP answer
   * without the API's JSON error body (a proxy's page). Status and message as answered.
   */
  unknown_error: 500,

  // Framework adapters (React Router, unstorage).
  /** A method of a framework's storage interface that sessions cannot offer (listing keys). */
  not_supported: 501,
} as const satisfies Record<string, number>;

/** An error code: one of `ERROR_CODES`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is one of `ERROR_CODES` (a peer may send codes this version does not know). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}

/** Options of a `SessionError`. */
export interface SessionErrorOptions {
  /**
   * The HTTP status, for the codes whose status is "as answered" (an error rebuilt from an
   * answer); by default the one `ERROR_CODES` gives the code.
   */
  status?: number;
  /** The error that caused this one. */
  cause?: unknown;
}

/** Every error this library throws on purpose. */
export class SessionError extends Error {
  /** Machine-readable code, stable across versions (e.g. `invalid_key`): one of `ERROR_CODES`. */
  readonly code: ErrorCode;
  /** The HTTP status that fits the error (the code's in `ERROR_CODES`, unless answered otherwise). */
  readonly status: number;

  /**
   * @example
   * throw new SessionError("key_taken", `Key "${key}" is taken: use a fresh random key.`);
   */
  constructor(code: ErrorCode, message: string, options?: SessionErrorOptions);
  constructor(code: ErrorCode, message: string, options: SessionErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code];
    if (options.cause !== undefined) this.cause = options.cause;
  }

  /**
   * A plain JSON body, `{ error: { code, message } }`, for an app that answers the error itself
   * (and for `getResponse()`). The HTTP API's `onError` answers a fuller body, with the fields
   * of each typed error (`errorBody` in src/routing/wire.ts).
   */
  toJSON(): { error: { code: ErrorCode; message: string } } {
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

/** The codes whose status is 400: those an `InvalidInputError` may carry. */
export type InputErrorCode = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C] extends 400 ? C : never;
}[ErrorCode];

/** A key, app name or other identifier that does not fit its format (400). */
export class InvalidKeyError extends SessionError {
  constructor(message: string) {
    super("invalid_key", message);
  }
}

/**
 * A malformed argument, changeset or setting (400). An answer of a code this version does not
 * know, with status 400, is one too (`unknown_error`).
 */
export class InvalidInputError extends SessionError {
  constructor(message: string, code: InputErrorCode | "unknown_error" = "invalid_input") {
    super(code, message, { status: 400 });
  }
}

/** A missing key, as Python's `KeyError` (404 `key_not_found`). */
export class KeyError extends SessionError {
  constructor(
    key: string | undefined,
    message = `Key ${JSON.stringify(key)} is not in the session.`,
  ) {
    super("key_not_found", message);
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
    super("wrong_shard", message);
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
    super(CONFLICT_CODES[reason], conflictMessage(key, reason, keys));
    this.key = key;
    this.reason = reason;
    this.keys = keys;
    Object.defineProperty(this, "current", { value: current, enumerable: false });
  }
}

/** Options of the errors of an unreachable session service. */
export interface ServiceErrorOptions {
  /** Machine-readable code; defaults to the class's own. */
  code?: ErrorCode;
  /** HTTP status, as answered; defaults to the one of the code in `ERROR_CODES`. */
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
    const { code = "service_unavailable", status, cause } = options;
    super(code, message, { status, cause });
  }
}

/**
 * The session service is overloaded and refused the call (503 `service_overloaded`). It is not
 * retried (that would add load): answer 503 and let the client come back later.
 */
export class SessionOverloadedError extends SessionUnavailableError {
  constructor(message: string, options: ServiceErrorOptions = {}) {
    super(message, { code: "service_overloaded", ...options });
  }
}

/**
 * The session service did not answer within the client's `timeout` (504 `service_timeout`). A
 * change sent with the call may still have been applied.
 */
export class SessionTimeoutError extends SessionUnavailableError {
  constructor(message: string, options: ServiceErrorOptions = {}) {
    super(message, { code: "service_timeout", ...options });
  }
}

const CONFLICT_CODES: Record<ConflictReason, ErrorCode> = {
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

/** 404 `app_not_found`: the app was never used (or was deleted); says how to make it. */
export function appNotFound(app: string): SessionError {
  return new SessionError(
    "app_not_found",
    `App "${app}" does not exist yet: open it (POST /v1/apps/${app}) or store a session in it first.`,
  );
}
