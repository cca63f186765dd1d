import type { StoredSession } from "./session-view.js";

/**
 * Synchronous storage of one app's sessions: the part that ZODB's FileStorage played in
 * repoze.session. The core needs only these operations, so a SQLite table with an index on
 * `sliceEnd` (a Durable Object's `ctx.storage.sql`) and a `Map` (`MemoryStore`) both fit.
 *
 * Records are replaced whole, never mutated in place: a store may hand out the objects it holds.
 */
export interface SessionStore {
  /** The stored session for `key`, or `undefined`. */
  load(key: string): StoredSession | undefined;
  /** Inserts or replaces the session with its key. */
  save(session: StoredSession): void;
  /** Moves the session's `sliceEnd` (the bound of its last access) to `sliceEnd`; nothing else changes. */
  touch(key: string, sliceEnd: number): void;
  /** Deletes the session for `key` if there is one. */
  remove(key: string): void;
  /**
   * Up to `limit` sessions whose `sliceEnd` is at or before `cutoff`, oldest first. Its cost must
   * follow the number returned, not the number stored (an index on `sliceEnd`).
   */
  expired(cutoff: number, limit: number): StoredSession[];
  /**
   * The stored sessions signed in as `user`, whose keys carry the user's routing `tag`
   * (`tag!…`). Its cost must follow the number of the user's sessions, not the number stored
   * (keys in tag order: a range of the key index).
   */
  ofUser(tag: string, user: string): StoredSession[];
  /** The smallest stored `sliceEnd`, or `undefined` when nothing is stored. */
  earliestSliceEnd(): number | undefined;
  /** How many sessions are stored. */
  count(): number;
  /**
   * Runs `fn` atomically: if it throws, nothing it wrote is kept. A transaction begun inside
   * another joins it (the manager commits several sessions as one unit of work).
   */
  transaction<T>(fn: () => T): T;
}
