import {
  ConflictError,
  type ConflictReason,
  ERROR_CODES,
  type ErrorCode,
  type InputErrorCode,
  InvalidInputError,
  InvalidKeyError,
  isErrorCode,
  SessionError,
  SessionTooLargeError,
  SettingsMismatchError,
  WrongShardError,
} from "../core/errors.js";
import type { JsonObject } from "../core/json.js";
import type { AppMetrics } from "../core/metrics.js";
import { type CommitResult, type SessionView, sessionView } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import type { EndSelection, UserSessions } from "../core/users.js";
import { type Layout, MovedError } from "./layout.js";

/**
 * An error as it crosses RPC and HTTP: `{ code, message, status }` plus the fields of its typed
 * error, so that the error rebuilt on the other side (`errorFromBody`) carries what the thrown one
 * did. Over HTTP, `status` is the response status and `current` sits beside `error`.
 */
export interface ErrorBody {
  code: ErrorCode;
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
  /** On `wrong_shard`: the shard count to pick the new key with, when known (`WrongShardError`). */
  shards?: number;
}

/**
 * What a Durable Object's RPC method returns. Workers RPC keeps only the message of a thrown
 * error, so typed errors travel as values and `unwrap` throws them again on the caller's side.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/**
 * What a Durable Object's method answers: a `Result` now, or once a session has moved to the
 * object or the commit's group is written. Over RPC both arrive as a `Result`.
 */
export type Answer<T> = Result<T> | Promise<Result<T>>;

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
 * An error body as received from a peer: its `code` may be one this version does not know (a
 * newer peer's).
 */
export type ReceivedErrorBody = Omit<ErrorBody, "code"> & { code: string };

/**
 * The code of a received error: itself when it is one of `ERROR_CODES`, else `unknown_error`
 * (a code of a newer peer; the error keeps the status and message answered).
 */
export function knownCode(code: unknown): ErrorCode {
  return isErrorCode(code) ? code : "unknown_error";
}

/**
 * The typed error that an `ErrorBody` describes, with the fields the thrown one had. `key` is
 * the session key the call was about, for bodies that do not carry one. A code this version does
 * not know becomes `unknown_error` (`knownCode`), with the status and message answered.
 */
export function errorFromBody(received: ReceivedErrorBody, key = ""): SessionError {
  const body: ErrorBody = { ...received, code: knownCode(received.code) };
  const about = body.key ?? key;
  switch (body.code) {
    case "conflict":
    case "session_ended":
    case "precondition_failed": {
      const current = body.current ? sessionView(body.current) : null;
      return Object.assign(
        new ConflictError(
          current?.key ?? about,
          CONFLICT_REASONS[body.code],
          current,
          body.keys ?? [],
        ),
        { message: body.message },
      );
    }
    case "settings_mismatch": {
      const error = new SettingsMismatchError(body.app ?? "", body.setting ?? "", null, null);
      return Object.assign(error, { message: body.message });
    }
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
      if (body.status === 400 && isInputCode(body.code)) {
        return new InvalidInputError(body.message, body.code);
      }
      return new SessionError(body.code, body.message, { status: body.status });
  }
}

/** Whether an answer of status 400 with `code` is an `InvalidInputError`. */
function isInputCode(code: ErrorCode): code is InputErrorCode | "unknown_error" {
  return code === "unknown_error" || ERROR_CODES[code] === 400;
}

const CONFLICT_REASONS = {
  conflict: "conflict",
  session_ended: "ended",
  precondition_failed: "precondition",
} as const satisfies Record<string, ConflictReason>;

/** An error result made without a thrown error (its fields as `errorBody` would give them). */
export function failure(error: ErrorBody): Result<never> {
  return { ok: false, error };
}

/** The value of a result, or its error thrown. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw errorFromBody(result.error);
}

/** What `stats` reports about an app (of one Durable Object, i.e. one shard). */
export interface AppStats {
  app: string;
  settings: AppSettings;
  /** Sessions stored now. */
  sessions: number;
  /** When the alarm will next sweep (seconds since the epoch), or `null` when none is set. */
  nextSweep: number | null;
  /** Events waiting for the Queue. */
  pendingEvents: number;
  /** Rows read and written by the object's statements since it started. */
  usage: { rowsRead: number; rowsWritten: number };
  /** The app's layout: where keys are routed, and where they come from during a move. */
  layout?: Layout;
  /** Sessions this object handed off and took in (moves) since it started. */
  moved?: { out: number; in: number };
  /**
   * Present while the app is being deleted (docs/DESIGN.md#deleting-an-app): `sessions` are the
   * ones left to end, `pendingEvents` the end events not yet sent.
   */
  deleting?: true;
}

/**
 * How far the deletion of an app has come (`deleteApp`): sessions left to end and end events
 * left to send, over all of the app's objects. `deleted` once every object holds nothing and the
 * name is free again.
 */
export interface AppDeletion {
  app: string;
  /** Every object of the app holds nothing; the name can be used again (as a new app). */
  deleted: boolean;
  /** Sessions not ended yet. */
  sessions: number;
  /** End events written and not yet accepted by the Queue. */
  pendingEvents: number;
}

/**
 * The session operations as another Worker calls them: on a `SessionManagerObject` stub (DO
 * binding) or on the `SessionService` entrypoint (service binding). Every method answers with a
 * `Result`; `unwrap` turns an error result back into its typed error. Sessions come as
 * `SessionView`s and commits answer a `CommitResult`: the same shapes as the HTTP API's.
 *
 * Typing a stub as this interface also spares TypeScript the deep RPC types of JSON data.
 */
export interface SessionManagerRpc {
  /**
   * Opens `app`: stores `settings` (defaults filled in) on first use; later, refuses settings
   * that differ from the stored ones with 409 `settings_mismatch`, naming the setting. Only the
   * settings given are compared. Answers the app's settings.
   */
  open(app: string, settings?: Partial<AppSettings>): Promise<Result<AppSettings>>;
  /**
   * Creates `app` or changes its settings on purpose: `settings` are merged over the stored
   * ones. No stored session ends sooner than the new `timeout` after its last access; a new
   * shard count starts a move of the sessions (docs/DESIGN.md#resharding). Answers the settings
   * now in force.
   */
  configure(app: string, settings: Partial<AppSettings>): Promise<Result<AppSettings>>;
  /**
   * The live session for `key`, touched; otherwise a new, empty one (`version` 0, `sid` null)
   * that is stored only once a commit gives it data.
   */
  get(app: string, key: string): Promise<Result<SessionView>>;
  /** The live session for `key` (touched), or `null`. Never creates. */
  query(app: string, key: string): Promise<Result<SessionView | null>>;
  /** Whether a live session exists for `key` (touching it). Never creates. */
  has(app: string, key: string): Promise<Result<boolean>>;
  /**
   * Applies a changeset `{ key, sid, version, set?, delete?, clear?, invalidate?, lastModified?,
   * newKey?, exact? }` atomically (docs/DESIGN.md#commit-and-merge). Answers the stored session
   * after it, or `{ key, stored: false, valid }` when none is stored: the same answer as the HTTP
   * API's `PATCH`. With `newKey`, the session then moves to that key in the same transaction;
   * both keys must live on the same shard (409 `wrong_shard`).
   */
  commit(app: string, changes: unknown): Promise<Result<CommitResult>>;
  /**
   * Commits several changesets (each with its `key`) in one call: each is atomic on its own (a
   * conflict in one does not touch the others), and those that land on one object are written
   * in one storage transaction. One `CommitResult` per changeset, in order. A malformed list is
   * refused whole (400), before anything is written.
   */
  commitMany(app: string, changes: unknown[]): Promise<Result<Result<CommitResult>[]>>;
  /**
   * `get`, answered compactly: the `SessionView` as JSON text (`JSON.parse` gives the view), its
   * data passed on as stored, neither parsed nor serialized again on the way.
   */
  getViewJson(app: string, key: string): Promise<Result<string>>;
  /** `query`, answered compactly: the `SessionView` as JSON text, or `null`. */
  queryViewJson(app: string, key: string): Promise<Result<string | null>>;
  /** Ends the live session for `key` (reason `invalidated`); answers whether there was one. */
  invalidate(app: string, key: string): Promise<Result<boolean>>;
  /**
   * Moves the live session at `oldKey` to `newKey` with its data (ID rotation), and answers it at
   * its new key; the old one ends with reason `regenerated`. Both keys must live on the same
   * shard (409 `wrong_shard`, with the shard count to pick the new key with).
   */
  regenerate(app: string, oldKey: string, newKey: string): Promise<Result<SessionView>>;
  /**
   * Signs the session at `changes.key` in as `user` (docs/DESIGN.md#users): the changeset `changes`
   * (`{ key, sid, version, set?, ... }`, as `commit` takes; no `invalidate`, no `newKey`) is
   * committed, and the session moves to a new key the service picks, carrying the user's routing
   * tag, bound to the user with `labels` (a JSON object of at most 1 KiB). The old key ends
   * (`regenerated`). Answers the signed-in session at its new key.
   */
  signIn(
    app: string,
    changes: unknown,
    user: string,
    labels?: JsonObject,
  ): Promise<Result<SessionView>>;
  /**
   * The live sessions signed in as `user`, most recently active first, each with a `handle` that
   * ends it; `own` (a session key) is marked `current`. 404 `user_not_found` when there are none.
   */
  userSessions(app: string, user: string, own?: string): Promise<Result<UserSessions>>;
  /**
   * Ends sessions of `user` at once (reason `revoked`): `{ all: true }`, all but the caller's
   * (`{ except: key }`), or one (`{ handle }`). Answers how many ended. Once it answers, none of
   * them is found by any request.
   */
  endUserSessions(app: string, user: string, which: EndSelection): Promise<Result<number>>;
  /**
   * The app's settings, stored sessions, next sweep and storage usage. Never creates the app:
   * 404 `app_not_found` for an app never used.
   */
  stats(app: string): Promise<Result<AppStats>>;
  /**
   * Deletes `app` (docs/DESIGN.md#deleting-an-app): every session ends (reason `invalidated`, or
   * `expired` for one already past its timeout) with its end event, the events are sent, then
   * every object of the app frees its storage, the home object last. The work goes on in the
   * background; each call answers how far it has come (`deleted: true` at the end), so calling
   * again polls it. Meanwhile every other call on the app answers 503 `app_deleting` and changes
   * nothing; once deleted, the name opens as a new app. 404 `app_not_found` for an app never
   * used (or deleted already), 409 `app_moving` while its sessions move between shards.
   */
  deleteApp(app: string): Promise<Result<AppDeletion>>;
  /**
   * The app's figures over all its shards (docs/DESIGN.md#metrics): live sessions, sessions
   * created and ended by reason, commits, conflicts and refusals (in total and per minute), time
   * alive, idle time, sweep lag, the outbox and a move's progress. Each shard is asked in
   * parallel within a bounded time; those that do not answer are named in `shards.missing`.
   * 404 `app_not_found` for an app never used.
   */
  metrics(app: string): Promise<Result<AppMetrics>>;
}

/** How the text of a compact read's successful answer begins. */
const OK_HEAD = '{"ok":true,"value":';

/**
 * A compact read's answer as one string, cheaper to carry over RPC than a `Result` object: the
 * `Result` as JSON text, the view's JSON text inside it as it is (`null` when there is none).
 */
export function resultText(result: Result<string | null>): string {
  if (!result.ok) return JSON.stringify(result);
  return `${OK_HEAD}${result.value ?? "null"}}`;
}

/**
 * The `Result` a compact read's answer holds, the view left as JSON text: a successful answer is
 * only sliced, never parsed.
 */
export function resultOfText(text: string): Result<string | null> {
  if (!text.startsWith(OK_HEAD)) return JSON.parse(text) as Result<string | null>;
  const view = text.slice(OK_HEAD.length, -1);
  return { ok: true, value: view === "null" ? null : view };
}
