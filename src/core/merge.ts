import type { Changeset } from "./changeset.js";
import { ConflictError, SessionTooLargeError } from "./errors.js";
import { frozenCopy, type JsonObject, jsonEqual, utf8Length } from "./json.js";
import { type SessionView, type StoredSession, sessionView, snapshotOf } from "./session-view.js";
import type { SessionSettings } from "./settings.js";
import { sliceEnd } from "./timeslice.js";

/**
 * Someone committed since the snapshot was read. Refuse if a key this changeset changes was
 * changed by those commits (a write of the value a key already had is no change; a `clear`
 * changes every key). Even a change to the value this changeset writes counts: two units of
 * work that both read `n = 1` and write `n = 2` are two increments, and one would be lost.
 */
export function checkMerge(stored: StoredSession, changes: Changeset): void {
  const base = changes.version;
  const clearedSince = stored.clearedVersion > base;
  const changedSince = (k: string) => clearedSince || (stored.keyVersions[k] ?? 0) > base;
  // A clear changes every key, so any real change since the snapshot conflicts with it.
  const conflicting = changes.clear
    ? unique([
        ...Object.keys(stored.keyVersions),
        ...(clearedSince ? Object.keys(stored.data) : []),
      ]).filter(changedSince)
    : [...Object.keys(changes.set ?? {}), ...(changes.delete ?? [])].filter(changedSince);
  if (conflicting.length > 0 || (changes.clear && clearedSince)) {
    throw new ConflictError(stored.key, "conflict", viewOf(stored), conflicting);
  }
}

/**
 * The session of `app` after `changes`, or `undefined` when they change nothing: the data stays
 * as it is (a clear of an empty session, a delete of a missing key, a write of the value a key
 * already has) and no other `lastModified` is assigned. Throws `SessionTooLargeError`.
 */
export function applyChanges(
  app: string,
  settings: SessionSettings,
  stored: StoredSession,
  changes: Changeset,
  now: number,
): StoredSession | undefined {
  const version = stored.version + 1;
  // Versions record real changes only: clearing an empty session or writing a key's own
  // value again changes nothing another unit of work could conflict with.
  const clears = changes.clear === true && Object.keys(stored.data).length > 0;
  const data = new Map(changes.clear ? [] : Object.entries(stored.data));
  const keyVersions = new Map(clears ? [] : Object.entries(stored.keyVersions));
  let changesKey = false;
  for (const k of changes.delete ?? []) {
    if (data.delete(k)) {
      keyVersions.set(k, version);
      changesKey = true;
    }
  }
  for (const [k, v] of Object.entries(changes.set ?? {})) {
    if (!data.has(k) || !jsonEqual(data.get(k), v)) {
      keyVersions.set(k, version);
      changesKey = true;
    }
    data.set(k, frozenCopy(v));
  }
  // After a clear, the keys set again are compared with nothing: compare the whole data (a
  // clear that sets every key back to its value changes nothing either).
  const changesData = clears
    ? !jsonEqual(stored.data, Object.fromEntries(data) as JsonObject)
    : changesKey;
  const lastModified = lastModifiedAfter(stored, changes, changesData, now);
  if (!changesData && lastModified === stored.lastModified) return undefined;
  // Deleted keys leave a version behind for the merge; when they pile up, forget them and count
  // the session as cleared at this version: every older snapshot then conflicts, which is safe.
  const compacts = tombstoneWeight(keyVersions, data) > TOMBSTONE_LIMIT;
  if (compacts) for (const k of [...keyVersions.keys()]) if (!data.has(k)) keyVersions.delete(k);
  const next: StoredSession = {
    ...stored,
    version,
    sliceEnd: sliceEnd(settings.period, now),
    lastModified,
    // Object.fromEntries defines own properties, so a "__proto__" key stays plain data.
    data: Object.fromEntries(data),
    keyVersions: Object.fromEntries(keyVersions),
    clearedVersion: clears || compacts ? version : stored.clearedVersion,
  };
  const bytes = utf8Length(JSON.stringify(next.data));
  if (bytes > settings.maxSessionBytes) {
    throw new SessionTooLargeError(stored.key, bytes, settings.maxSessionBytes, app);
  }
  return next;
}

/** The public form of a stored session, as a `ConflictError` carries it on every transport. */
export function viewOf(stored: StoredSession): SessionView {
  return sessionView(snapshotOf(stored));
}

/** Past this many characters of deleted keys' names, their versions are compacted away. */
const TOMBSTONE_LIMIT = 4096;

function tombstoneWeight(keyVersions: Map<string, number>, data: Map<string, unknown>): number {
  let weight = 0;
  for (const k of keyVersions.keys()) if (!data.has(k)) weight += k.length + 16;
  return weight;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/**
 * The snapshot's `lastModified` as the changeset gives it (a changeset that changes data without
 * one is stamped `now`); after a merge, the larger of the stored and the given one. Never earlier
 * than `created`: a session is not modified before it exists (a client's clock may lag behind).
 */
function lastModifiedAfter(
  stored: StoredSession,
  changes: Changeset,
  changesData: boolean,
  now: number,
): number | null {
  const given = changes.lastModified === undefined && changesData ? now : changes.lastModified;
  if (given === undefined) return stored.lastModified;
  let result: number | null;
  if (stored.version === changes.version || stored.lastModified === null) result = given;
  else result = given === null ? stored.lastModified : Math.max(stored.lastModified, given);
  return result === null ? null : Math.max(result, stored.created);
}
