import type { JsonObject } from "./json.js";

/**
 * A session as a manager hands it out: what a `SessionData` is built from, what the RPC and HTTP
 * APIs return, and what a `ConflictError` carries.
 */
export interface SessionSnapshot {
  /** The session's key within its app. */
  key: string;
  /** Identity of this stored session; `null` while it has never been stored. */
  sid: string | null;
  /** 0 while never stored; +1 per stored change. */
  version: number;
  /** Creation time, seconds since the epoch. */
  created: number;
  /** Time of the last modification, or `null` if never modified. */
  lastModified: number | null;
  data: JsonObject;
}

/** A session as the store keeps it. */
export interface StoredSession extends SessionSnapshot {
  sid: string;
  /** Timeslice of the last access. */
  slice: number;
  /**
   * For each key changed since the last `clear`, the version that last changed it (deleted keys
   * included). The per-key merge of SPEC §5 reads it to know what changed after a snapshot.
   */
  keyVersions: Record<string, number>;
  /** The version of the last `clear` (0 if none). Every key counts as changed by it. */
  clearedVersion: number;
}

/** The public part of a stored session. */
export function snapshotOf(stored: StoredSession): SessionSnapshot {
  return {
    key: stored.key,
    sid: stored.sid,
    version: stored.version,
    created: stored.created,
    lastModified: stored.lastModified,
    data: stored.data,
  };
}
