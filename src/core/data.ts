import type { Changeset } from "./changeset.js";
import { KeyError, SessionError } from "./errors.js";
import { assertJsonValue, frozenCopy, type JsonObject, type JsonValue } from "./json.js";
import type { SessionSnapshot } from "./session-view.js";

/** `KeyError` lives with the other errors (src/core/errors.ts); exported here too, where it began. */
export { KeyError };

/**
 * One session's data: a `Map` of string keys to JSON values, with the extras of a Python dict
 * (`update`, `pop`, `setdefault`, `popitem`) and the session attributes of repoze.session
 * (`created`, `lastModified`, `invalidate()`, `isValid()`).
 *
 * It is a snapshot taken by a manager. Its changes are recorded (`changes()`) and stored by the
 * manager's `commit()`. Values are JSON only and are kept as frozen copies: change a nested
 * object by setting a new value, never in place, so that every change is recorded.
 *
 * It stays usable after a commit, as a ZODB object stays live after `transaction.commit()`: it
 * then stands for the session as stored (its `version` and `sid` follow), and its next change
 * joins the manager's unit of work again, to be stored by the next commit or refused with a
 * `ConflictError` (docs/DESIGN.md#units-of-work). A session that was invalidated and committed
 * takes no more changes.
 *
 * @example
 * const data = manager.get("abc");
 * data.set("first_name", "fred");
 * data.setdefault("visits", 0);
 * manager.commit();
 */
export class SessionData implements Iterable<[string, JsonValue]> {
  #key: string;
  #sid: string | null;
  #version: number;
  #created: number;
  #user: string | null;
  readonly #clock: () => number;
  /** The data as this session shows it: what it was read at, with the changes made since. */
  #data: Map<string, JsonValue>;
  #lastModified: number | null;
  /** The data as stored at `version` (or as read, for a session never stored). */
  #base: Map<string, JsonValue>;
  /** Changes not sent yet: what the next commit sends. */
  #pending = new ChangeRecord();
  /** Changes sent by a commit that has not answered yet. */
  #sending: ChangeRecord | undefined;
  /** Invalidated, and that committed: the session has ended. */
  #ended = false;
  /** Why this object takes no more changes though its session goes on (see `retire`). */
  #retired: string | undefined;
  /** Tells the unit of work this session belongs to that it changed (it joins it again). */
  #onChange: ((data: SessionData) => void) | undefined;

  /**
   * @param snapshot what the manager read (or, for a new session, `version: 0, sid: null`).
   * @param clock seconds since the epoch; stamps `lastModified` on every change.
   */
  constructor(snapshot: SessionSnapshot, clock: () => number) {
    this.#key = snapshot.key;
    this.#sid = snapshot.sid;
    this.#version = snapshot.version;
    this.#created = snapshot.created;
    this.#user = snapshot.user ?? null;
    this.#lastModified = snapshot.lastModified;
    this.#clock = clock;
    this.#base = frozenMap(snapshot.data);
    this.#data = new Map(this.#base);
  }

  /** The session's key within its app (after a commit that rotated the ID, the new key). */
  get key(): string {
    return this.#key;
  }

  /** Identity of the stored session this snapshot stands for; `null` when never stored. */
  get sid(): string | null {
    return this.#sid;
  }

  /**
   * The user the session is signed in as (docs/DESIGN.md#users), or `null`. Set by a sign-in
   * (`signIn` of a manager, `login` of the Hono middleware), never by a change to the data.
   */
  get user(): string | null {
    return this.#user;
  }

  /** The stored version this snapshot stands for (0 = never stored). */
  get version(): number {
    return this.#version;
  }

  /** Time of creation, seconds since the epoch. Read-only. */
  get created(): number {
    return this.#created;
  }

  set created(_value: number) {
    throw new TypeError(
      "SessionData.created cannot be assigned: it is the time the session was created.",
    );
  }

  /** Time of the last modification (seconds), `null` until the first. Assignable. */
  get lastModified(): number | null {
    return this.#lastModified;
  }

  set lastModified(value: number | null) {
    if (value !== null && (typeof value !== "number" || !Number.isFinite(value))) {
      throw new TypeError("SessionData.lastModified must be a time in seconds or null.");
    }
    this.#writable();
    this.#lastModified = value;
    this.#pending.lastModifiedAssigned = true;
    this.#onChange?.(this);
  }

  /** True while the session has never been stored. */
  get isNew(): boolean {
    return this.version === 0;
  }

  /** Number of keys. */
  get size(): number {
    return this.#data.size;
  }

  /** The value for `key`, or `fallback` (default `undefined`) when missing. */
  get<T extends JsonValue = JsonValue>(key: string): T | undefined;
  get<T extends JsonValue = JsonValue, D = T>(key: string, fallback: D): T | D;
  get(key: string, fallback?: unknown): unknown {
    return this.#data.has(key) ? this.#data.get(key) : fallback;
  }

  has(key: string): boolean {
    return this.#data.has(key);
  }

  /** Sets `key` to a copy of `value`. Throws a `TypeError` naming the key if it is not JSON. */
  set(key: string, value: JsonValue): this {
    this.#writable();
    assertKey(key);
    assertJsonValue(key, value);
    const copy = frozenCopy(value);
    this.#data.set(key, copy);
    this.#pending.recordSet(key, copy);
    this.#modified();
    return this;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: string): boolean {
    this.#writable();
    if (!this.#data.has(key)) return false;
    this.#data.delete(key);
    this.#pending.recordDelete(key);
    this.#modified();
    return true;
  }

  /** Removes every key. */
  clear(): void {
    this.#writable();
    this.#data.clear();
    this.#pending.recordClear();
    this.#modified();
  }

  keys(): IterableIterator<string> {
    return this.#data.keys();
  }

  values(): IterableIterator<JsonValue> {
    return this.#data.values();
  }

  entries(): IterableIterator<[string, JsonValue]> {
    return this.#data.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, JsonValue]> {
    return this.#data.entries();
  }

  forEach(callback: (value: JsonValue, key: string, data: SessionData) => void): void {
    for (const [k, v] of this.#data) callback(v, k, this);
  }

  /** Sets every key of an object or every `[key, value]` pair (Python's `dict.update`). */
  update(values: Record<string, JsonValue> | Iterable<readonly [string, JsonValue]>): void {
    const pairs = isIterable(values) ? [...values] : Object.entries(values);
    // Check all before changing any: a bad value leaves the session as it was.
    for (const [k, v] of pairs) {
      assertKey(k);
      assertJsonValue(k, v);
    }
    for (const [k, v] of pairs) this.set(k, v);
  }

  /**
   * Removes `key` and returns its value. Without a `fallback`, a missing key throws (as Python's
   * `dict.pop`); with one, the fallback is returned.
   */
  pop<T extends JsonValue = JsonValue>(key: string): T;
  pop<T extends JsonValue = JsonValue, D = T>(key: string, fallback: D): T | D;
  pop(key: string, ...fallback: unknown[]): unknown {
    if (!this.#data.has(key)) {
      if (fallback.length > 0) return fallback[0];
      throw new KeyError(key);
    }
    const value = this.#data.get(key);
    this.delete(key);
    return value;
  }

  /** The value for `key`; when missing, sets it to `fallback` first (and only then modifies). */
  setdefault<T extends JsonValue>(key: string, fallback: T): JsonValue {
    if (this.#data.has(key)) return this.#data.get(key) as JsonValue;
    this.set(key, fallback);
    return this.#data.get(key) as JsonValue;
  }

  /** Removes and returns the most recently inserted `[key, value]`; throws when empty. */
  popitem(): [string, JsonValue] {
    const last = [...this.#data.keys()].at(-1);
    if (last === undefined) throw new KeyError(undefined, "popitem(): the session is empty.");
    const value = this.#data.get(last) as JsonValue;
    this.delete(last);
    return [last, value];
  }

  /** Marks the session ended. After commit it is gone and its end event fires (`invalidated`). */
  invalidate(): void {
    if (this.#retired !== undefined) throw new SessionError("session_replaced", this.#retired);
    if (!this.isValid()) return; // ended already, or about to be
    this.#pending.invalidated = true;
    this.#onChange?.(this);
  }

  /** False once `invalidate()` was called. */
  isValid(): boolean {
    return !(this.#ended || this.#pending.invalidated || this.#sending?.invalidated);
  }

  /** Whether anything was changed that no commit has sent yet. */
  get isModified(): boolean {
    return !this.#pending.isEmpty;
  }

  /**
   * The recorded changes, as the next commit sends them. `lastModified` goes with them only when
   * it was assigned: a change of the data is stamped with the commit's time where it is stored,
   * so the stored time never depends on this process's clock (and is never before `created`).
   */
  changes(): Changeset {
    const pending = this.#pending;
    const changes: Changeset = { key: this.#key, sid: this.#sid, version: this.#version };
    if (pending.cleared) changes.clear = true;
    if (pending.deleted.size > 0) changes.delete = [...pending.deleted];
    if (pending.set.size > 0) changes.set = Object.fromEntries(pending.set);
    if (pending.invalidated) changes.invalidate = true;
    if (pending.lastModifiedAssigned) changes.lastModified = this.#lastModified;
    return changes;
  }

  /** The data as a plain object. */
  toJSON(): JsonObject {
    return Object.fromEntries(this.#data);
  }

  /**
   * @internal The unit of work this session belongs to: `onChange` is called on every change,
   * so that a change made after a commit joins the unit of work again.
   */
  bind(onChange: (data: SessionData) => void): void {
    this.#onChange = onChange;
  }

  /** @internal Whether a commit of this session is under way (sent, not answered). */
  get committing(): boolean {
    return this.#sending !== undefined;
  }

  /**
   * @internal A commit takes the pending changes: they are in flight until `settle` (stored) or
   * `unsent` (refused). Changes made meanwhile stay pending for the next commit.
   */
  send(): Changeset {
    if (this.#sending !== undefined) {
      throw new SessionError(
        "commit_in_progress",
        `Session "${this.#key}" is being committed already: await that commit before committing it again.`,
      );
    }
    const changes = this.changes();
    this.#sending = this.#pending;
    this.#pending = new ChangeRecord();
    return changes;
  }

  /**
   * @internal The session now stands for `stored` (what a commit answered, or where a rotation
   * moved it), with the changes made since the commit was sent still pending on top; `null`
   * when no session is stored after the commit.
   */
  settle(stored: SessionSnapshot | null): void {
    const sent = this.#sending;
    this.#sending = undefined;
    if (stored === null) {
      if (sent?.invalidated) this.#ended = true;
      // A session never stored whose changes left it empty stays unstored, and empty.
      else this.#base = new Map();
    } else {
      this.#key = stored.key;
      this.#sid = stored.sid;
      this.#version = stored.version;
      this.#created = stored.created;
      this.#user = stored.user ?? null;
      this.#base = frozenMap(stored.data);
      if (!this.#pending.changesData) this.#lastModified = stored.lastModified;
    }
    this.#rebuild();
  }

  /**
   * @internal The commit that took the changes was refused, and they are pending again (`save`
   * keeps them, so that the caller can send them once more).
   */
  unsent(): void {
    if (this.#sending === undefined) return;
    this.#pending = this.#sending.followedBy(this.#pending);
    this.#sending = undefined;
  }

  /**
   * @internal A unit of work's commit refused the changes it took: they are dropped (the error
   * says what was refused), and the session shows what it stood for before. Changes made while
   * that commit was in flight stay pending, and join the unit of work again.
   */
  refused(): void {
    if (this.#sending === undefined) return;
    this.#sending = undefined;
    this.#rebuild();
    if (!this.#pending.isEmpty) this.#onChange?.(this);
  }

  /**
   * @internal Another object stands for this session from now on (the Hono middleware read it
   * again): a change to this one would never be committed, so it is refused with `message`.
   */
  retire(message: string): void {
    this.#retired = message;
  }

  /** @internal Drops the changes not sent yet (the unit of work was aborted). */
  discard(): void {
    this.#pending = new ChangeRecord();
    this.#rebuild();
  }

  /** The data shown: the base, then the changes in flight, then the pending ones. */
  #rebuild(): void {
    const data = new Map(this.#base);
    this.#sending?.applyTo(data);
    this.#pending.applyTo(data);
    this.#data = data;
  }

  #modified(): void {
    // The newest change wins over an earlier assignment, as it does for the value shown here.
    this.#lastModified = this.#clock();
    this.#pending.lastModifiedAssigned = false;
    this.#onChange?.(this);
  }

  #writable(): void {
    if (this.#retired !== undefined) throw new SessionError("session_replaced", this.#retired);
    if (!this.isValid()) {
      throw new SessionError(
        "session_invalidated",
        `Session "${this.#key}" was invalidated: it takes no more changes. Get it again from the manager (after the commit) to start a new session.`,
      );
    }
  }
}

/**
 * Changes recorded over a stretch of time, in the order a commit applies them: `clear`, then
 * `delete`, then `set`.
 */
class ChangeRecord {
  cleared = false;
  readonly set = new Map<string, JsonValue>();
  readonly deleted = new Set<string>();
  invalidated = false;
  /** Whether `lastModified` was assigned (rather than stamped by a change of the data). */
  lastModifiedAssigned = false;

  get changesData(): boolean {
    return this.cleared || this.set.size > 0 || this.deleted.size > 0 || this.lastModifiedAssigned;
  }

  get isEmpty(): boolean {
    return !this.changesData && !this.invalidated;
  }

  recordSet(key: string, value: JsonValue): void {
    this.set.set(key, value);
    this.deleted.delete(key);
  }

  recordDelete(key: string): void {
    this.set.delete(key);
    this.deleted.add(key);
  }

  recordClear(): void {
    this.set.clear();
    this.deleted.clear();
    this.cleared = true;
  }

  applyTo(data: Map<string, JsonValue>): void {
    if (this.cleared) data.clear();
    for (const key of this.deleted) data.delete(key);
    for (const [key, value] of this.set) data.set(key, value);
  }

  /** These changes followed by `later`, as one record. */
  followedBy(later: ChangeRecord): ChangeRecord {
    const both = new ChangeRecord();
    if (!later.cleared) {
      both.cleared = this.cleared;
      for (const key of this.deleted) both.recordDelete(key);
      for (const [key, value] of this.set) both.recordSet(key, value);
    }
    both.cleared ||= later.cleared;
    for (const key of later.deleted) both.recordDelete(key);
    for (const [key, value] of later.set) both.recordSet(key, value);
    both.invalidated = this.invalidated || later.invalidated;
    const laterChangesData = later.cleared || later.set.size > 0 || later.deleted.size > 0;
    both.lastModifiedAssigned =
      later.lastModifiedAssigned || (this.lastModifiedAssigned && !laterChangesData);
    return both;
  }
}

function frozenMap(data: JsonObject): Map<string, JsonValue> {
  return new Map(Object.entries(data).map(([k, v]) => [k, frozenCopy(v)]));
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== "string") {
    throw new TypeError(`Session keys must be strings, got a ${typeof key}.`);
  }
}

function isIterable(value: object): value is Iterable<readonly [string, JsonValue]> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}
