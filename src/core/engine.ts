import type { Changeset } from "./changeset.js";
import { ConflictError, SessionError } from "./errors.js";
import { type EndReason, SessionBeginEvent, SessionEndEvent, type SessionEvent } from "./events.js";
import { applyChanges, checkMerge, viewOf } from "./merge.js";
import { type StoredSession, unstoredSnapshot } from "./session-view.js";
import type { SessionSettings } from "./settings.js";
import type { SessionStore } from "./store.js";
import { expiresAt, isExpired, sliceEnd } from "./timeslice.js";

/** Sessions ended per sweep batch (one transaction each) unless told otherwise. */
export const DEFAULT_SWEEP_BATCH = 500;

/**
 * The session rules (docs/DESIGN.md#session-rules) on top of a synchronous `SessionStore`: access and touch,
 * expiry, commit with per-key merge, invalidation and the sweep. Every operation runs in one
 * store transaction and hands the events it caused to `emit` inside that transaction, so a
 * Durable Object can write them to its outbox atomically with the change.
 *
 * `SessionDataManager` (in process) and the Durable Object (over RPC) are both built on it.
 */
export class SessionEngine {
  readonly app: string;
  readonly settings: SessionSettings;
  readonly store: SessionStore;
  readonly #emit: (events: SessionEvent[]) => void;

  constructor(options: {
    app: string;
    settings: SessionSettings;
    store: SessionStore;
    emit?: (events: SessionEvent[]) => void;
  }) {
    this.app = options.app;
    this.settings = options.settings;
    this.store = options.store;
    this.#emit = options.emit ?? (() => {});
  }

  /**
   * The end of the timeslice that contains `now`: what an access at `now` records. A session
   * whose recorded end is at or after it was accessed in this period already.
   */
  sliceEnd(now: number): number {
    return sliceEnd(this.settings.period, now);
  }

  /**
   * The live session for `key`, touched (its `sliceEnd` moved to the end of the current
   * timeslice, a write only when it moves), or `undefined`. An expired session found here ends.
   */
  access(key: string, now: number): StoredSession | undefined {
    const stored = this.store.load(key);
    // The common case writes nothing, so it needs no transaction: absent, or touched in this
    // period already (and so live).
    if (stored === undefined) return undefined;
    if (stored.sliceEnd >= this.sliceEnd(now)) return stored;
    return this.#run((events) => this.#live(key, now, events, true));
  }

  /**
   * Applies a changeset (docs/DESIGN.md#commit-and-merge). Returns the stored session after it, or `null` when nothing is
   * stored (invalidated, or a session never stored whose data the changeset leaves empty).
   * A changeset that changes no data (nor assigns a new `lastModified`) writes nothing and
   * returns the stored session as it is. With `newKey`, the session then moves there in the same
   * transaction (see `regenerate`), and the moved session is returned. Throws `ConflictError`
   * (also for an `exact` changeset whose sid and version are not the stored ones: 412),
   * `SessionTooLargeError` or `key_taken`; then nothing is written.
   */
  commit(changes: Changeset, now: number): StoredSession | null {
    return this.#run((events) => {
      const { newKey, ...dataChanges } = changes;
      const stored = this.#commit(dataChanges, now, events);
      // ID rotation with the changes, in the same transaction: both happen or neither.
      if (newKey === undefined || stored === null) return stored;
      return this.#move(stored, newKey, now, events);
    });
  }

  /** The data part of a commit, inside its transaction. */
  #commit(changes: Changeset, now: number, events: SessionEvent[]): StoredSession | null {
    const stored = this.#live(changes.key, now, events, false);
    // Exactly: the named sid and version, or (version 0) no stored session at all.
    const exactly =
      changes.version === 0
        ? stored === undefined
        : stored !== undefined && stored.sid === changes.sid && stored.version === changes.version;
    if (changes.exact && !exactly) {
      throw new ConflictError(changes.key, "precondition", stored ? viewOf(stored) : null);
    }
    // A snapshot of a stored session commits only to that very session (same sid): after it
    // ended, another session at the same key is not its to change.
    if (changes.version > 0 && (stored === undefined || stored.sid !== changes.sid)) {
      throw new ConflictError(changes.key, "ended", stored ? viewOf(stored) : null);
    }
    if (stored === undefined) return this.#create(changes, now, events);
    if (changes.version > stored.version) {
      throw new ConflictError(changes.key, "conflict", viewOf(stored));
    }
    if (changes.version === 0 && changes.invalidate) {
      // A new session that was never stored has nothing to end; the stored one is another's.
      return null;
    }
    if (changes.invalidate) {
      this.#end(stored, "invalidated", now, events);
      return null;
    }
    // The merge comes first even for a changeset that turns out to change nothing: two units
    // of work that both delete a key they read are both acting on it (one coupon, used twice).
    if (stored.version !== changes.version) checkMerge(stored, changes);
    const next = applyChanges(this.app, this.settings, stored, changes, now);
    if (next === undefined) return stored;
    this.store.save(next);
    return next;
  }

  /**
   * Moves the live session at `oldKey` to `newKey` (ID rotation, the defence against session
   * fixation): a new stored session with the same data begins at `newKey`, and the old one ends
   * with reason `regenerated`, in one transaction. Throws `ConflictError` (`session_ended`, 409,
   * `current` null) when there is no live session at `oldKey`: never stored, or ended (the two
   * leave the same trace: none), and a `SessionError` `key_taken` (409) when `newKey` is taken.
   */
  regenerate(oldKey: string, newKey: string, now: number): StoredSession {
    return this.#run((events) => {
      const stored = this.#live(oldKey, now, events, false);
      if (stored === undefined) throw nothingToRotate(oldKey);
      return this.#move(stored, newKey, now, events);
    });
  }

  /** Moves a live stored session to `newKey`: it begins there, and ends (`regenerated`) here. */
  #move(stored: StoredSession, newKey: string, now: number, events: SessionEvent[]): StoredSession {
    if (stored.key === newKey || this.#live(newKey, now, events, false) !== undefined) {
      throw new SessionError(
        "key_taken",
        `Cannot regenerate session "${stored.key}" as "${newKey}": that key is taken. Use a fresh random key.`,
      );
    }
    const moved: StoredSession = {
      ...stored,
      key: newKey,
      sid: crypto.randomUUID(),
      version: 1,
      sliceEnd: this.sliceEnd(now),
      keyVersions: {},
      clearedVersion: 0,
    };
    this.#end(stored, "regenerated", now, events);
    this.store.save(moved);
    events.push(new SessionBeginEvent(this.app, moved, now));
    return moved;
  }

  /** Ends the live session for `key` (reason `invalidated`). Returns whether there was one. */
  invalidate(key: string, now: number): boolean {
    return this.#run((events) => {
      const stored = this.#live(key, now, events, false);
      if (stored === undefined) return false;
      this.#end(stored, "invalidated", now, events);
      return true;
    });
  }

  /**
   * Ends up to `limit` expired sessions in one transaction, oldest first. Reads only expired rows
   * (the store's `sliceEnd` index). Returns how many ended; fewer than `limit` means none are left.
   */
  sweepBatch(now: number, limit = DEFAULT_SWEEP_BATCH): number {
    return this.#run((events) => {
      // The same cutoff as `isExpired`: a session expires once `timeout` passed since its end.
      const due = this.store.expired(now - this.settings.timeout, limit);
      for (const session of due) this.#end(session, "expired", now, events);
      return due.length;
    });
  }

  /** Ends every expired session, in batches (at most `maxBatches`). Returns how many ended. */
  sweep(now: number, batch = DEFAULT_SWEEP_BATCH, maxBatches = Number.POSITIVE_INFINITY): number {
    if (!(batch >= 1)) throw new RangeError("sweep: the batch size must be at least 1.");
    let total = 0;
    for (let done = 0; done < maxBatches; done++) {
      const ended = this.sweepBatch(now, batch);
      total += ended;
      if (ended < batch) return total;
    }
    return total;
  }

  /** The first moment (seconds) at which a stored session can expire; `undefined` if none is stored. */
  nextExpiry(): number | undefined {
    const earliest = this.store.earliestSliceEnd();
    if (earliest === undefined) return undefined;
    return expiresAt(earliest, this.settings.timeout);
  }

  #run<T>(fn: (events: SessionEvent[]) => T): T {
    return this.store.transaction(() => {
      const events: SessionEvent[] = [];
      const result = fn(events);
      if (events.length > 0) this.#emit(events);
      return result;
    });
  }

  /**
   * The stored, live session; an expired one ends here. `touch` moves its `sliceEnd` forward to
   * the end of the current timeslice, and never back (after the period was lowered, a session
   * accessed before keeps its later end: at most one write per period either way).
   */
  #live(
    key: string,
    now: number,
    events: SessionEvent[],
    touch: boolean,
  ): StoredSession | undefined {
    const stored = this.store.load(key);
    if (stored === undefined) return undefined;
    if (isExpired(stored.sliceEnd, now, this.settings.timeout)) {
      this.#end(stored, "expired", now, events);
      return undefined;
    }
    const end = this.sliceEnd(now);
    if (!touch || stored.sliceEnd >= end) return stored;
    this.store.touch(key, end);
    return { ...stored, sliceEnd: end };
  }

  #end(session: StoredSession, reason: EndReason, now: number, events: SessionEvent[]): void {
    this.store.remove(session.key);
    events.push(new SessionEndEvent(this.app, session, reason, now));
  }

  #create(changes: Changeset, now: number, events: SessionEvent[]): StoredSession | null {
    // Creation is lazy: a new session is stored only once a commit gives it data. A clear, a
    // delete or an assigned lastModified alone leaves nothing worth storing.
    if (changes.invalidate) return null;
    const empty: StoredSession = {
      ...unstoredSnapshot(changes.key, now),
      sid: crypto.randomUUID(),
      sliceEnd: this.sliceEnd(now),
      keyVersions: {},
      clearedVersion: 0,
    };
    const session = applyChanges(this.app, this.settings, empty, changes, now);
    if (session === undefined || Object.keys(session.data).length === 0) return null;
    this.store.save(session);
    events.push(new SessionBeginEvent(this.app, session, now));
    return session;
  }
}

/**
 * The refusal of a regenerate with no live session at `key`: the code of an ended session
 * (`session_ended`, 409), with a message for a rotation rather than a commit.
 */
function nothingToRotate(key: string): ConflictError {
  const error = new ConflictError(key, "ended", null);
  error.message = `No stored session "${key}" to regenerate: it was never stored, or it has ended (expired, invalidated or regenerated). Nothing to rotate: store the session first (commit a change to it), or get a new one.`;
  return error;
}
