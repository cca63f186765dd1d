import type { Changeset } from "./changeset.js";
import { SessionError } from "./errors.js";
import { assertJsonValue, frozenCopy, type JsonObject, type JsonValue } from "./json.js";
import type { SessionSnapshot } from "./session-view.js";

/**
 * One session's data: a `Map` of string keys to JSON values, with the extras of a Python dict
 * (`update`, `pop`, `setdefault`, `popitem`) and the session attributes of repoze.session
 * (`created`, `lastModified`, `invalidate()`, `isValid()`).
 *
 * It is a snapshot taken by a manager. Its changes are recorded (`changes()`) and stored by the
 * manager's `commit()`. Values are JSON only and are kept as frozen copies: change a nested
 * object by setting a new value, never in place, so that every change is recorded.
 *
 * @example
 * const data = manager.get("abc");
 * data.set("first_name", "fred");
 * data.setdefault("visits", 0);
 * manager.commit();
 */
export class SessionData implements Iterable<[string, JsonValue]> {
  /** The session's key within its app. */
  readonly key: string;
  /** Identity of the stored session this snapshot was read from; `null` when never stored. */
  readonly sid: string | null;
  /** The stored version this snapshot was read at (0 = never stored). */
  readonly version: number;
  readonly #created: number;
  readonly #clock: () => number;
  readonly #data: Map<string, JsonValue>;
  #lastModified: number | null;
  /** Whether `lastModified` was assigned (rather than stamped by a change of the data). */
  #lastModifiedAssigned = false;
  readonly #set = new Map<string, JsonValue>();
  readonly #deleted = new Set<string>();
  #cleared = false;
  #invalidated = false;

  /**
   * @param snapshot what the manager read (or, for a new session, `version: 0, sid: null`).
   * @param clock seconds since the epoch; stamps `lastModified` on every change.
   */
  constructor(snapshot: SessionSnapshot, clock: () => number) {
    this.key = snapshot.key;
    this.sid = snapshot.sid;
    this.version = snapshot.version;
    this.#created = snapshot.created;
    this.#lastModified = snapshot.lastModified;
    this.#clock = clock;
    this.#data = new Map(Object.entries(snapshot.data).map(([k, v]) => [k, frozenCopy(v)]));
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
    this.#lastModified = value;
    this.#lastModifiedAssigned = true;
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
    this.#set.set(key, copy);
    this.#deleted.delete(key);
    this.#modified();
    return this;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: string): boolean {
    this.#writable();
    if (!this.#data.has(key)) return false;
    this.#data.delete(key);
    this.#set.delete(key);
    this.#deleted.add(key);
    this.#modified();
    return true;
  }

  /** Removes every key. */
  clear(): void {
    this.#writable();
    this.#data.clear();
    this.#set.clear();
    this.#deleted.clear();
    this.#cleared = true;
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
    this.#invalidated = true;
  }

  /** False once `invalidate()` was called. */
  isValid(): boolean {
    return !this.#invalidated;
  }

  /** Whether anything was changed since the snapshot was taken. */
  get isModified(): boolean {
    return (
      this.#invalidated ||
      this.#cleared ||
      this.#lastModifiedAssigned ||
      this.#set.size > 0 ||
      this.#deleted.size > 0
    );
  }

  /**
   * The recorded changes, as a commit sends them. `lastModified` goes with them only when it was
   * assigned: a change of the data is stamped with the commit's time where it is stored, so the
   * stored time never depends on this process's clock (and is never before `created`).
   */
  changes(): Changeset {
    const changes: Changeset = { key: this.key, sid: this.sid, version: this.version };
    if (this.#cleared) changes.clear = true;
    if (this.#deleted.size > 0) changes.delete = [...this.#deleted];
    if (this.#set.size > 0) changes.set = Object.fromEntries(this.#set);
    if (this.#invalidated) changes.invalidate = true;
    if (this.#lastModifiedAssigned) changes.lastModified = this.#lastModified;
    return changes;
  }

  /** The data as a plain object. */
  toJSON(): JsonObject {
    return Object.fromEntries(this.#data);
  }

  #modified(): void {
    // The newest change wins over an earlier assignment, as it does for the value shown here.
    this.#lastModified = this.#clock();
    this.#lastModifiedAssigned = false;
  }

  #writable(): void {
    if (this.#invalidated) {
      throw new SessionError(
        "session_invalidated",
        409,
        `Session "${this.key}" was invalidated in this unit of work; get it again after commit to start a new one.`,
      );
    }
  }
}

/** A missing key, as Python's `KeyError`. */
export class KeyError extends SessionError {
  constructor(
    key: string | undefined,
    message = `Key ${JSON.stringify(key)} is not in the session.`,
  ) {
    super("key_not_found", 404, message);
  }
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== "string") {
    throw new TypeError(`Session keys must be strings, got a ${typeof key}.`);
  }
}

function isIterable(value: object): value is Iterable<readonly [string, JsonValue]> {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}
