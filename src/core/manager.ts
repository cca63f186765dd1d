import { SessionData } from "./data.js";
import { SessionEngine } from "./engine.js";
import { SessionError } from "./errors.js";
import type { SessionBeginEvent, SessionEndEvent, SessionEvent } from "./events.js";
import type { JsonObject } from "./json.js";
import { MemoryStore } from "./memory-store.js";
import { assertAppName, assertSessionKey } from "./names.js";
import { type StoredSession, snapshotOf, unstoredSnapshot } from "./session-view.js";
import { resolveSettings, type SessionSettings } from "./settings.js";
import type { SessionStore } from "./store.js";
import { UnitOfWork } from "./unit-of-work.js";
import {
  assertUser,
  type EndSelection,
  parseEndSelection,
  parseLabels,
  signedInKey,
  type UserSessions,
  userTag,
} from "./users.js";

/** Options of `SessionDataManager`. Settings default as in repoze.session. */
export interface SessionDataManagerOptions extends Partial<SessionSettings> {
  /** Seconds since the epoch. Default `() => Date.now() / 1000`. Inject one in tests. */
  clock?: () => number;
  /** Where sessions live. Default: a new `MemoryStore`. */
  store?: SessionStore;
  /** The app name events carry. Default `"default"`. */
  app?: string;
}

type Listeners = {
  begin: Set<(event: SessionBeginEvent) => void>;
  end: Set<(event: SessionEndEvent) => void>;
};

/**
 * An in-process session manager over a synchronous store: repoze.session's
 * `SessionDataManager` and its connection in one. `get`, `query` and `has` read a snapshot of a
 * session into the current unit of work; `commit()` stores every session changed in it, or
 * none; `abort()` drops the changes. The next access after either reads the store afresh.
 *
 * @example
 * const manager = new SessionDataManager({ timeout: 1200, period: 20 });
 * const data = manager.get("abc");
 * data.set("first_name", "fred");
 * manager.commit();
 */
export class SessionDataManager {
  readonly app: string;
  readonly settings: SessionSettings;
  readonly store: SessionStore;
  readonly #clock: () => number;
  readonly #engine: SessionEngine;
  /** The unit of work: the sessions read since the last commit or abort, by key. */
  readonly #unit = new UnitOfWork();
  #pending: SessionEvent[] = [];
  readonly #listeners: Listeners = { begin: new Set(), end: new Set() };

  constructor({
    clock = () => Date.now() / 1000,
    store = new MemoryStore(),
    app = "default",
    ...settings
  }: SessionDataManagerOptions = {}) {
    assertAppName(app);
    this.app = app;
    this.settings = resolveSettings(settings);
    this.store = store;
    this.#clock = clock;
    this.#engine = new SessionEngine({
      app,
      settings: this.settings,
      store,
      emit: (events) => this.#pending.push(...events),
    });
  }

  /**
   * The live session for `key`, touched; otherwise (missing, expired or invalidated) a new,
   * empty one. A new session is stored only when a commit finds it modified.
   */
  get(key: string): SessionData {
    return this.#read(key) ?? this.#track(this.#newSession(key));
  }

  /** The live session for `key` (touched), or `fallback`. Never creates. */
  query<D = undefined>(key: string, fallback?: D): SessionData | D {
    return this.#read(key) ?? (fallback as D);
  }

  /** Whether a live session exists for `key` (touching it). Never creates. */
  has(key: string): boolean {
    return this.#read(key) !== undefined;
  }

  /**
   * Stores every session changed in this unit of work, atomically: all or none. Returns how
   * many were committed. Throws `ConflictError` or `SessionTooLargeError`, and then writes
   * nothing and drops the changes it carried (read the sessions again and redo them). Either way
   * the unit of work ends. A session the
   * program still holds stays live: it stands for what was stored, and a change made to it later
   * is stored by the next commit.
   */
  commit(): number {
    const now = this.#clock();
    const dirty = this.#unit.modified().map(([data]) => data);
    const changes = dirty.map((data) => data.send());
    let stored: (StoredSession | null)[] = [];
    try {
      this.store.transaction(() => {
        stored = changes.map((change) => this.#engine.commit(change, now));
      });
    } catch (error) {
      for (const data of dirty) data.refused();
      this.#end();
      throw error;
    }
    dirty.forEach((data, i) => {
      const after = stored[i];
      data.settle(after == null ? null : snapshotOf(after));
    });
    this.#dispatch();
    this.#end();
    return dirty.length;
  }

  /** Drops every uncommitted change; the next access reads the store afresh. */
  abort(): void {
    this.#unit.abort();
    this.#pending = [];
  }

  /**
   * Moves the stored session at `oldKey` to `newKey` with its data; the old one ends with
   * reason `regenerated`. It acts on the stored session: a session this unit of work holds for
   * `oldKey` with uncommitted changes is refused (`uncommitted_changes`, 409), and one without
   * now stands for the moved session and is returned.
   */
  regenerate(oldKey: string, newKey: string): SessionData {
    assertSessionKey(oldKey);
    assertSessionKey(newKey);
    const held = this.#unit.lookup(oldKey);
    if (held?.isModified || held?.committing) {
      throw new SessionError(
        "uncommitted_changes",
        `Session "${oldKey}" has changes that were not committed: commit them before regenerate().`,
      );
    }
    const moved = snapshotOf(this.#engine.regenerate(oldKey, newKey, this.#clock()));
    this.#dispatch();
    if (held === undefined) return this.#track(new SessionData(moved, this.#clock));
    this.#unit.forget(oldKey);
    held.settle(moved);
    return this.#track(held);
  }

  /**
   * Signs `data`'s session in as `user` (docs/DESIGN.md#users): its uncommitted changes are
   * committed with the sign-in, and it moves to a new key (against session fixation), bound to
   * the user with `labels` (a device name, a user agent: a JSON object of at most 1 KiB). The old
   * key ends (`regenerated`). `data` then stands for the signed-in session (read its new `key`).
   * A refused sign-in throws and drops the changes it carried, as a refused commit does.
   */
  async signIn(data: SessionData, user: string, labels?: JsonObject): Promise<SessionData> {
    assertUser(user);
    const binding = { user, tag: await userTag(this.app, user), labels: parseLabels(labels) };
    const oldKey = data.key;
    const changes = data.send();
    let signedIn: StoredSession;
    try {
      signedIn = this.#engine.signIn(changes, signedInKey(binding.tag), binding, this.#clock());
    } catch (error) {
      data.refused();
      this.#pending = [];
      throw error;
    }
    this.#dispatch();
    if (this.#unit.lookup(oldKey) === data) this.#unit.forget(oldKey);
    data.settle(snapshotOf(signedIn));
    return this.#track(data);
  }

  /**
   * The live sessions signed in as `user`, most recently active first, each with the handle that
   * ends it; `own` (a session key) marks the caller's. Throws `user_not_found` (404) when the user
   * has none.
   */
  async userSessions(user: string, own?: string): Promise<UserSessions> {
    assertUser(user);
    const ref = { user, tag: await userTag(this.app, user) };
    const sessions = this.#engine.userSessions(ref, own, this.#clock());
    this.#dispatch();
    return { user, sessions };
  }

  /**
   * Ends sessions of `user` at once (reason `revoked`): `{ all: true }`, all but the caller's
   * (`{ except: key }`), or one (`{ handle }`). Returns how many ended.
   */
  async endUserSessions(user: string, which: EndSelection): Promise<number> {
    assertUser(user);
    const selection = parseEndSelection(which);
    const ref = { user, tag: await userTag(this.app, user) };
    const ended = this.#engine.endUserSessions(ref, selection, this.#clock());
    this.#dispatch();
    return ended;
  }

  /** Ends every expired session; returns how many. */
  sweep(): number {
    const ended = this.#engine.sweep(this.#clock());
    this.#dispatch();
    return ended;
  }

  /** The first moment (seconds) at which a stored session can expire, if any is stored. */
  nextExpiry(): number | undefined {
    return this.#engine.nextExpiry();
  }

  /**
   * Subscribes to session events: `begin` when a new session is first stored, `end` when a
   * stored one ends. Returns a function that unsubscribes.
   */
  on(type: "begin", listener: (event: SessionBeginEvent) => void): () => void;
  on(type: "end", listener: (event: SessionEndEvent) => void): () => void;
  on(type: "begin" | "end", listener: (event: never) => void): () => void {
    const set = this.#listeners[type] as Set<typeof listener>;
    set.add(listener);
    return () => set.delete(listener);
  }

  #read(key: string): SessionData | undefined {
    assertSessionKey(key);
    const known = this.#unit.lookup(key);
    if (known !== undefined) return known;
    const now = this.#clock();
    // As in repoze.session, an access also ends what has expired meanwhile (one bounded batch).
    if ((this.#engine.nextExpiry() ?? Number.POSITIVE_INFINITY) <= now)
      this.#engine.sweepBatch(now);
    const stored = this.#engine.access(key, now);
    this.#dispatch();
    return stored === undefined
      ? undefined
      : this.#track(new SessionData(snapshotOf(stored), this.#clock));
  }

  #newSession(key: string): SessionData {
    return new SessionData(unstoredSnapshot(key, this.#clock()), this.#clock);
  }

  #track(data: SessionData): SessionData {
    this.#unit.join(data, undefined, (joined) => joined.key);
    return data;
  }

  /** The unit of work ends: the next access reads the store afresh. */
  #end(): void {
    this.#unit.end();
    this.#pending = [];
  }

  #dispatch(): void {
    const events = this.#pending;
    this.#pending = [];
    for (const event of events) {
      const listeners = this.#listeners[event.type] as Set<(event: SessionEvent) => void>;
      for (const listener of listeners) listener(event);
    }
  }
}
