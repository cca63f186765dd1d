import type { Changeset } from "./changeset.js";
import { ConflictError, InvalidInputError, SessionError } from "./errors.js";
import { type EndReason, SessionBeginEvent, SessionEndEvent, type SessionEvent } from "./events.js";
import type { JsonObject } from "./json.js";
import { applyChanges, checkMerge, viewOf } from "./merge.js";
import { tagOf } from "./names.js";
import { type SessionSnapshot, type StoredSession, unstoredSnapshot } from "./session-view.js";
import type { SessionSettings } from "./settings.js";
import type { SessionStore } from "./store.js";
import { expiresAt, isExpired, sliceEnd } from "./timeslice.js";
import {
  type EndSelection,
  newHandle,
  type SignInBinding,
  type UserRef,
  type UserSession,
} from "./users.js";

/** What a sign-in carries from the session it rotates: its data and times. */
export type SessionContent = Pick<SessionSnapshot, "created" | "lastModified" | "data">;

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
    if (stored.user !== undefined && tagOf(newKey) !== tagOf(stored.key)) {
      throw new InvalidInputError(
        `Cannot regenerate session "${stored.key}" as "${newKey}": a signed-in session keeps its routing tag, so that its user's sessions stay together. Pick the new key as "${tagOf(stored.key)}!" followed by fresh random characters.`,
        "invalid_key",
      );
    }
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

  /**
   * Signs the session at `changes.key` in as a user (docs/DESIGN.md#users), in one transaction:
   * `changes` are committed (as `commit` does), then the session moves to `newKey` (which must
   * carry the user's tag), bound to the user with the labels and a new handle; the old key ends
   * (`regenerated`) if it was stored. A session never stored is stored by its sign-in, even
   * empty. A sign-in past the app's `maxSessionsPerUser` ends the user's least recently active
   * sessions (`evicted`). Returns the signed-in session.
   */
  signIn(changes: Changeset, newKey: string, binding: SignInBinding, now: number): StoredSession {
    this.#checkTag(newKey, binding);
    return this.#run((events) => {
      const { newKey: _rotation, ...dataChanges } = changes;
      let content: SessionContent;
      const existing = this.#live(changes.key, now, events, false);
      if (existing === undefined && changes.version === 0 && !changes.invalidate) {
        // Nothing stored yet: the changes go straight to the new key, never stored at the old.
        const empty = this.#emptyAt(changes.key, now);
        content = applyChanges(this.app, this.settings, empty, dataChanges, now) ?? empty;
      } else {
        const stored = this.#commit(dataChanges, now, events);
        if (stored === null) throw nothingToRotate(changes.key);
        this.#end(stored, "regenerated", now, events);
        content = stored;
      }
      return this.#bind(newKey, content, binding, now, events);
    });
  }

  /**
   * The second half of a sign-in whose old key lives in another object: stores `content` at
   * `newKey`, signed in as the user (as `signIn` does), in one transaction. Throws `key_taken`
   * when `newKey` holds a live session.
   */
  bind(
    newKey: string,
    content: SessionContent,
    binding: SignInBinding,
    now: number,
  ): StoredSession {
    this.#checkTag(newKey, binding);
    return this.#run((events) => this.#bind(newKey, content, binding, now, events));
  }

  /**
   * The last step of a sign-in whose new key lives in another object: ends the session at `key`
   * (`regenerated`) if it is exactly the stored `sid` at `version`; otherwise throws
   * `ConflictError` (412 `precondition_failed`) and ends nothing.
   */
  retire(key: string, sid: string, version: number, now: number): void {
    this.#run((events) => {
      const stored = this.#live(key, now, events, false);
      if (stored === undefined || stored.sid !== sid || stored.version !== version) {
        throw new ConflictError(key, "precondition", stored ? viewOf(stored) : null);
      }
      this.#end(stored, "regenerated", now, events);
    });
  }

  /**
   * A user's live sessions, most recently active first; `own` (a key) marks the caller's.
   * Reads the user's sessions only. An expired one found here ends (`expired`). Throws
   * `user_not_found` (404) when the user has none.
   */
  userSessions(ref: UserRef, own: string | undefined, now: number): UserSession[] {
    return this.#run((events) => {
      const live = this.#liveOfUser(ref, now, events);
      if (live.length === 0) throw userNotFound(ref.user);
      const period = this.settings.period;
      return live
        .sort((a, b) => b.sliceEnd - a.sliceEnd || b.created - a.created)
        .map((s) => ({
          handle: s.handle ?? "",
          created: s.created,
          lastActive: Math.max(s.created, s.sliceEnd - period),
          expires: expiresAt(s.sliceEnd, this.settings.timeout),
          labels: s.labels ?? {},
          current: s.key === own,
        }));
    });
  }

  /**
   * Ends a user's sessions (reason `revoked`) in one transaction: all, all but the one at
   * `except`, or the one with `handle`. Returns how many ended. Throws `user_not_found` (404)
   * when the user has no live session, `handle_not_found` (404) when none of the user's has the
   * handle; then nothing ends.
   */
  endUserSessions(ref: UserRef, which: EndSelection, now: number): number {
    return this.#run((events) => {
      const live = this.#liveOfUser(ref, now, events);
      if (live.length === 0) throw userNotFound(ref.user);
      let ending: StoredSession[];
      if ("handle" in which) {
        ending = live.filter((s) => s.handle === which.handle);
        if (ending.length === 0) {
          throw new SessionError(
            "handle_not_found",
            `No live session of this user has handle ${JSON.stringify(which.handle)}: it ended, or it is not one of the user's. List the user's sessions again for their current handles.`,
          );
        }
      } else {
        const except = "except" in which ? which.except : undefined;
        ending = live.filter((s) => s.key !== except);
      }
      for (const session of ending) this.#end(session, "revoked", now, events);
      return ending.length;
    });
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

  /**
   * Ends up to `limit` stored sessions, live or not, in one transaction, each with its end event:
   * `expired` for one already past its timeout (as the sweep would have ended it), `invalidated`
   * for the others (deleting an app: docs/DESIGN.md#deleting-an-app). Returns how many ended.
   */
  endBatch(now: number, limit = DEFAULT_SWEEP_BATCH): number {
    return this.#run((events) => {
      const batch = this.store.expired(Number.MAX_VALUE, limit);
      for (const session of batch) {
        const expired = isExpired(session.sliceEnd, now, this.settings.timeout);
        this.#end(session, expired ? "expired" : "invalidated", now, events);
      }
      return batch.length;
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

  #checkTag(newKey: string, binding: SignInBinding): void {
    if (tagOf(newKey) !== binding.tag) {
      throw new InvalidInputError(
        `A signed-in session's key must carry its user's routing tag: "${binding.tag}!" followed by random characters, got "${newKey}".`,
        "invalid_key",
      );
    }
  }

  /** A session not stored yet at `key`, with `sid`: what a commit or a sign-in starts from. */
  #emptyAt(key: string, now: number, sid = ""): StoredSession {
    return {
      ...unstoredSnapshot(key, now),
      sid,
      sliceEnd: this.sliceEnd(now),
      keyVersions: {},
      clearedVersion: 0,
    };
  }

  #bind(
    newKey: string,
    content: SessionContent,
    binding: SignInBinding,
    now: number,
    events: SessionEvent[],
  ): StoredSession {
    if (this.#live(newKey, now, events, false) !== undefined) {
      throw new SessionError(
        "key_taken",
        `Cannot sign in as "${newKey}": that key is taken. Use a fresh random key.`,
      );
    }
    const session: StoredSession = {
      key: newKey,
      sid: crypto.randomUUID(),
      version: 1,
      created: content.created,
      lastModified: content.lastModified,
      data: content.data as JsonObject,
      sliceEnd: this.sliceEnd(now),
      keyVersions: {},
      clearedVersion: 0,
      user: binding.user,
      handle: newHandle(),
      labels: binding.labels,
    };
    this.store.save(session);
    events.push(new SessionBeginEvent(this.app, session, now));
    this.#evict(binding, newKey, now, events);
    return session;
  }

  /** Past the app's limit, ends the user's least recently active sessions but `keep`. */
  #evict(ref: UserRef, keep: string, now: number, events: SessionEvent[]): void {
    const limit = this.settings.maxSessionsPerUser;
    if (!(limit > 0)) return;
    const live = this.#liveOfUser(ref, now, events);
    if (live.length <= limit) return;
    const others = live
      .filter((s) => s.key !== keep)
      .sort((a, b) => a.sliceEnd - b.sliceEnd || a.created - b.created);
    for (const session of others.slice(0, live.length - limit)) {
      this.#end(session, "evicted", now, events);
    }
  }

  /** The user's stored sessions that are live; the expired ones found end here. */
  #liveOfUser(ref: UserRef, now: number, events: SessionEvent[]): StoredSession[] {
    const live: StoredSession[] = [];
    for (const session of this.store.ofUser(ref.tag, ref.user)) {
      if (isExpired(session.sliceEnd, now, this.settings.timeout)) {
        this.#end(session, "expired", now, events);
      } else {
        live.push(session);
      }
    }
    return live;
  }

  #end(session: StoredSession, reason: EndReason, now: number, events: SessionEvent[]): void {
    this.store.remove(session.key);
    events.push(new SessionEndEvent(this.app, session, reason, now));
  }

  #create(changes: Changeset, now: number, events: SessionEvent[]): StoredSession | null {
    // Creation is lazy: a new session is stored only once a commit gives it data. A clear, a
    // delete or an assigned lastModified alone leaves nothing worth storing.
    if (changes.invalidate) return null;
    const empty = this.#emptyAt(changes.key, now, crypto.randomUUID());
    const session = applyChanges(this.app, this.settings, empty, changes, now);
    if (session === undefined || Object.keys(session.data).length === 0) return null;
    this.store.save(session);
    events.push(new SessionBeginEvent(this.app, session, now));
    return session;
  }
}

function userNotFound(user: string): SessionError {
  return new SessionError(
    "user_not_found",
    `No live session is signed in as this user (${user.length} characters): never signed in, or every session of the user has ended.`,
  );
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
