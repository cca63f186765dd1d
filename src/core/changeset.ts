import { InvalidInputError } from "./errors.js";
import { assertJsonValue, type JsonObject, type JsonValue } from "./json.js";
import { assertSessionKey } from "./names.js";

/**
 * The changes one unit of work made to one session, applied atomically by a commit: `clear`
 * first, then `delete`, then `set`.
 */
export interface Changeset {
  key: string;
  /** The stored session the snapshot was read from; `null` for a session never stored. */
  sid: string | null;
  /** The snapshot's version (0 for a session never stored). */
  version: number;
  set?: JsonObject;
  delete?: string[];
  clear?: boolean;
  invalidate?: boolean;
  /** An assigned or updated `lastModified`. */
  lastModified?: number | null;
  /**
   * ID rotation in the same transaction: after the changes are applied, the session moves to
   * this key and the old one ends (reason `regenerated`). Only for a stored session (version
   * above 0), never with `invalidate`.
   */
  newKey?: string;
  /**
   * Apply only to exactly this stored session: its `sid` and `version` must be the stored ones,
   * with no per-key merge from an older version; with version 0 (and sid `null`), only while no
   * session is stored. Otherwise the commit fails with 412 `precondition_failed` and writes
   * nothing. The HTTP API sets it for conditional requests (`If-Match`, `If-None-Match`).
   */
  exact?: boolean;
}

const CHANGESET_FIELDS = new Set([
  "key",
  "sid",
  "version",
  "set",
  "delete",
  "clear",
  "invalidate",
  "lastModified",
  "newKey",
  "exact",
]);

/**
 * Checks a changeset that came from outside (HTTP body, RPC argument) and returns a clean copy.
 * Throws `InvalidInputError` (400) naming what is wrong.
 */
export function parseChangeset(key: string, input: unknown): Changeset {
  assertSessionKey(key);
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw invalid(
      "a changeset must be a JSON object like { version, set?, delete?, clear?, invalidate?, lastModified? }",
    );
  }
  const body = input as Record<string, unknown>;
  for (const field of Object.keys(body)) {
    if (!CHANGESET_FIELDS.has(field)) throw invalid(`unknown field "${field}"`);
  }
  if (body.key !== undefined && body.key !== key)
    throw invalid(
      `"key" ${JSON.stringify(body.key)} differs from the session key ${JSON.stringify(key)}`,
    );
  const { version, sid } = body;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) {
    throw invalid(
      '"version" must be the integer version of the snapshot the changes were made to (0 for a new session)',
    );
  }
  if (
    sid !== undefined &&
    sid !== null &&
    (typeof sid !== "string" || sid.length === 0 || sid.length > 64)
  ) {
    throw invalid('"sid" must be the session\'s sid string, or null');
  }
  if (version > 0 && (sid === undefined || sid === null)) {
    throw invalid(
      '"sid" is required with a version above 0: send the sid of the session the changes were made to, so they cannot land in a newer session at the same key',
    );
  }
  const changes: Changeset = { key, sid: (sid as string | null | undefined) ?? null, version };
  if (body.set !== undefined) {
    if (body.set === null || typeof body.set !== "object" || Array.isArray(body.set)) {
      throw invalid('"set" must be an object of keys to JSON values');
    }
    const set = Object.entries(body.set as Record<string, unknown>);
    for (const [k, v] of set) {
      try {
        assertJsonValue(k, v);
      } catch (error) {
        throw invalid((error as Error).message);
      }
    }
    changes.set = Object.fromEntries(set) as Record<string, JsonValue>;
  }
  if (body.delete !== undefined) {
    if (!Array.isArray(body.delete) || !body.delete.every((k) => typeof k === "string")) {
      throw invalid('"delete" must be an array of key strings');
    }
    const deleted = [...new Set(body.delete as string[])];
    const both = deleted.find((k) => changes.set !== undefined && Object.hasOwn(changes.set, k));
    if (both !== undefined)
      throw invalid(`key ${JSON.stringify(both)} is both in "set" and "delete"`);
    changes.delete = deleted;
  }
  for (const flag of ["clear", "invalidate", "exact"] as const) {
    if (body[flag] !== undefined) {
      if (typeof body[flag] !== "boolean") throw invalid(`"${flag}" must be true or false`);
      changes[flag] = body[flag];
    }
  }
  if (changes.exact && version === 0 && changes.sid !== null) {
    throw invalid(
      '"exact" with version 0 applies only while no session is stored: leave "sid" null, or give the version of the session it names',
    );
  }
  if (body.lastModified !== undefined) {
    const lm = body.lastModified;
    if (lm !== null && (typeof lm !== "number" || !Number.isFinite(lm))) {
      throw invalid('"lastModified" must be a time in seconds, or null');
    }
    changes.lastModified = lm;
  }
  if (body.newKey !== undefined) {
    if (typeof body.newKey !== "string") throw invalid('"newKey" must be a session key string');
    assertSessionKey(body.newKey);
    if (body.newKey === key) throw invalid('"newKey" must differ from the session\'s key');
    if (version === 0) {
      throw invalid(
        '"newKey" moves a stored session: give it with the version (above 0) and sid of the snapshot; a session never stored can simply be committed under the new key',
      );
    }
    if (changes.invalidate) throw invalid('"newKey" and "invalidate" exclude each other');
    changes.newKey = body.newKey;
  }
  return changes;
}

function invalid(what: string): InvalidInputError {
  return new InvalidInputError(`Invalid changeset: ${what}.`, "invalid_changeset");
}

/** The most changesets one `commitMany` call takes. */
export const MAX_CHANGESETS_PER_CALL = 128;

/**
 * Checks a list of changesets that came from outside (an RPC argument), each as
 * `parseChangeset` does with its own `key`. Throws `InvalidInputError` (400) for the first bad
 * one, naming its place, so that a bad list is refused whole.
 */
export function parseChangesets(input: unknown): Changeset[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_CHANGESETS_PER_CALL) {
    throw invalid(
      `commitMany takes an array of 1 to ${MAX_CHANGESETS_PER_CALL} changesets, each with its "key"`,
    );
  }
  return input.map((changes: unknown, i) => {
    try {
      return parseChangeset((changes as { key?: unknown } | null)?.key as string, changes);
    } catch (error) {
      if (error instanceof Error) error.message = `Changeset ${i}: ${error.message}`;
      throw error;
    }
  });
}
