import type { SessionSnapshot } from "./stored-session";

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

  /** The JSON body the HTTP API answers with: `{ error: { code, message } }`. */
  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
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

/** A session whose serialized data would exceed the app's `maxSessionBytes` (413). */
export class SessionTooLargeError extends SessionError {
  readonly bytes: number;
  readonly limit: number;

  constructor(key: string, bytes: number, limit: number) {
    super(
      "session_too_large",
      413,
      `Session "${key}" would hold ${bytes} bytes of data, over the app's limit of ${limit} bytes (maxSessionBytes). Store less in the session, or raise maxSessionBytes (at most 1 MiB).`,
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** An app opened with settings that differ from the ones stored with it (409). */
export class SettingsMismatchError extends SessionError {
  readonly setting: string;

  constructor(app: string, setting: string, stored: unknown, given: unknown) {
    super(
      "settings_mismatch",
      409,
      `App "${app}" is stored with ${setting}=${JSON.stringify(stored)} but was opened with ${setting}=${JSON.stringify(given)}. Open it with the stored settings, or reconfigure the app on purpose.`,
    );
    this.setting = setting;
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
  readonly current: SessionSnapshot | null;

  constructor(
    key: string,
    reason: ConflictReason,
    current: SessionSnapshot | null,
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
    this.current = current;
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
