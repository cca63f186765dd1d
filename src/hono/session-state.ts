import type { RemoteSessionManager, SessionManagerFactory } from "../client/factory.js";
import type { SessionData } from "../core/data.js";
import { ConflictError, InvalidInputError, SessionError, WrongShardError } from "../core/errors.js";
import type { JsonObject } from "../core/json.js";
import { shardOf, tagOf } from "../core/names.js";
import { assertUser, parseLabels, signedInKey, type UserSession } from "../core/users.js";
import { newSessionId } from "./cookie-signature.js";

/** How many times a rotation is sent at most when refused with `wrong_shard` (see `#send`). */
const ROTATION_TRIES = 3;

/** What stands for a session ID in error messages: the ID is a credential, never logged. */
const REDACTED_ID = "[session id]";

/** What the state of one request's session needs from the middleware. */
interface SessionSetup {
  factory: SessionManagerFactory;
  /** The session ID the request's cookie names, verified; `undefined` for none. */
  cookieId: string | undefined;
  maxAge: number | undefined;
  clock: () => number;
}

/**
 * @internal One request's (one run's) session: what was loaded, the pending rotation, and what
 * is stored for the browser now. The middleware commits it after the handler.
 */
export class SessionState {
  readonly #setup: SessionSetup;
  #manager: RemoteSessionManager | undefined;
  #data: SessionData | undefined;
  #loading: Promise<SessionData> | undefined;
  /** The new ID of a pending `regenerate()`. */
  #newKey: string | undefined;
  /** A pending `login()`: the sign-in sent with the commit (the service picks the new ID). */
  #login: { user: string; labels: JsonObject } | undefined;
  /** Every session ID this request has seen: kept out of error messages. */
  readonly #ids = new Set<string>();
  /** The key of the session stored for this browser as far as this request knows. */
  stored: string | undefined;
  touched = false;
  /** Whether `save()` sent anything. */
  saved = false;
  /** The conflict `save()` met, if any (the handler may let it propagate). */
  conflict: ConflictError | undefined;

  constructor(setup: SessionSetup) {
    this.#setup = setup;
    if (setup.cookieId !== undefined) this.#ids.add(setup.cookieId);
  }

  get id(): string | undefined {
    return this.#newKey ?? this.#data?.key;
  }

  /** The session ID the request's cookie names (verified), or `undefined`. */
  get cookieId(): string | undefined {
    return this.#setup.cookieId;
  }

  get loaded(): boolean {
    return this.#data !== undefined;
  }

  /** Runs a session operation; an error leaves it with the session IDs taken out. */
  async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw this.redact(error);
    }
  }

  /** `error` with every session ID of this request replaced (message, stack, conflict key). */
  redact(error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    for (const id of this.#ids) {
      if (error.message.includes(id)) error.message = error.message.replaceAll(id, REDACTED_ID);
      if (error.stack?.includes(id)) error.stack = error.stack.replaceAll(id, REDACTED_ID);
    }
    if (error instanceof ConflictError && this.#ids.has(error.key)) {
      Object.defineProperty(error, "key", { value: REDACTED_ID });
    }
    return error;
  }

  load(): Promise<SessionData> {
    this.#loading ??= this.#read(this.#setup.cookieId);
    return this.#loading;
  }

  /** The live session at `key`, or a new one under a new random ID (stored only if written). */
  async #read(key: string | undefined): Promise<SessionData> {
    const { factory, maxAge, clock } = this.#setup;
    this.#manager ??= await factory.open();
    const manager = this.#manager;
    if (key !== undefined) {
      const found = await manager.query(key);
      if (found !== undefined && (maxAge === undefined || clock() - found.created <= maxAge)) {
        return this.#use(found, found.key);
      }
      // Past its absolute lifetime: end it now (it is over whatever the handler does).
      if (found !== undefined) {
        found.invalidate();
        await manager.save(found);
      }
    }
    return this.#use(manager.create(newSessionId()), undefined);
  }

  #use(data: SessionData, stored: string | undefined): SessionData {
    // The data the handler may still hold would never be committed: it refuses changes instead.
    this.#data?.retire(
      "This session's data was read again (reload(), or a new session after destroy()): call session.data() again and change that.",
    );
    this.#data = data;
    this.#ids.add(data.key);
    this.stored = stored;
    return data;
  }

  async touch(): Promise<void> {
    await this.load();
    this.touched = true;
  }

  async reload(): Promise<void> {
    if (this.#data === undefined) {
      await this.load();
      return;
    }
    this.#manager?.forget(this.#data.key);
    this.#loading = this.#read(this.stored);
    await this.#loading;
  }

  async regenerate(): Promise<void> {
    const data = await this.load();
    if (!data.isValid()) {
      throw new SessionError(
        "session_destroyed",
        "regenerate() after destroy() in the same request: the session is ending. Call one of them.",
      );
    }
    // A pending login() rotates the ID already.
    if (this.#newKey === undefined && this.#login === undefined) {
      // On the same shard, so that the move is one transaction in one object.
      const shards = (this.#manager as RemoteSessionManager).settings.shards;
      this.#newKey = newSessionIdNear(data.key, shards);
      this.#ids.add(this.#newKey);
    }
  }

  async destroy(): Promise<void> {
    (await this.load()).invalidate();
    this.#newKey = undefined;
    this.#login = undefined;
  }

  /**
   * Signs the session in as `user` with the commit: checked now (nothing is loaded for a bad
   * `user` or `labels`), sent when the handler has succeeded or at `save()`, with the changes.
   */
  async login(user: unknown, labels: unknown): Promise<void> {
    assertUser(user);
    const checked = parseLabels(labels);
    const data = await this.load();
    if (!data.isValid()) {
      throw new SessionError(
        "session_destroyed",
        "login() after destroy() in the same request: the session is ending. Call one of them (login() alone rotates the session ID).",
      );
    }
    // The sign-in moves the session to a new ID of the service's choosing: no other rotation.
    this.#newKey = undefined;
    this.#login = { user, labels: checked };
  }

  /** The user the session is signed in as, or will be by a pending `login()`; `null` for none. */
  async user(): Promise<string | null> {
    const data = await this.load();
    if (!data.isValid()) return null;
    return this.#login?.user ?? data.user;
  }

  /** The live sessions of the session's user, this one marked `current`; `[]` when signed out. */
  async devices(): Promise<UserSession[]> {
    const user = await this.user();
    if (user === null) return [];
    try {
      return (await this.#managerNow().userSessions(user, this.#ownKey(user))).sessions;
    } catch (error) {
      // Every session of the user ended meanwhile (this one too: its next request finds none).
      if (error instanceof SessionError && error.code === "user_not_found") return [];
      throw error;
    }
  }

  /** Ends every session of the session's user but this one, now; how many ended. */
  async signOutOthers(): Promise<number> {
    const user = await this.user();
    if (user === null) return 0;
    const own = this.#ownKey(user);
    try {
      return await this.#managerNow().endUserSessions(
        user,
        own === undefined ? { all: true } : { except: own },
      );
    } catch (error) {
      if (error instanceof SessionError && error.code === "user_not_found") return 0;
      throw error;
    }
  }

  /** Ends the session of the session's user that `handle` names (from `devices()`), now. */
  async signOutDevice(handle: unknown): Promise<void> {
    if (typeof handle !== "string" || handle.length === 0) {
      throw new InvalidInputError(
        "signOutDevice(handle) takes the `handle` of one of the sessions devices() lists, a non-empty string.",
      );
    }
    const user = await this.user();
    try {
      if (user === null) throw handleNotFound();
      await this.#managerNow().endUserSessions(user, { handle });
    } catch (error) {
      if (error instanceof SessionError && error.code === "user_not_found") throw handleNotFound();
      throw error;
    }
  }

  /** The manager, once the session is loaded. */
  #managerNow(): RemoteSessionManager {
    return this.#manager as RemoteSessionManager;
  }

  /** This session's key, when it is stored signed in as `user`. */
  #ownKey(user: string): string | undefined {
    const data = this.#data as SessionData;
    return !data.isNew && data.user === user ? data.key : undefined;
  }

  /** Sends the changes and a pending rotation now; `stored` follows. */
  async save(): Promise<void> {
    const data = await this.load();
    const manager = this.#manager as RemoteSessionManager;
    const login = this.#login;
    const sends =
      login !== undefined || data.isModified || (this.#newKey !== undefined && !data.isNew);
    const after =
      login === undefined
        ? await this.#send(manager, data)
        : await this.#signIn(manager, data, login);
    if (sends) this.saved = true;
    this.#newKey = undefined;
    this.#login = undefined;
    if (after === undefined && !data.isValid()) {
      // Destroyed: later changes go to a new session, under a new ID.
      this.#use(manager.create(newSessionId()), undefined);
    } else if (after === undefined) {
      // A new session with nothing in it: still not stored, and still the one the handler holds.
      this.stored = undefined;
    } else {
      // The same object, now standing for what was stored (after a rotation, at its new key).
      this.stored = after.key;
    }
    this.#loading = Promise.resolve(this.#data as SessionData);
  }

  /**
   * Commits `data` with the pending rotation. A rotation refused with `wrong_shard` (the app's
   * shard count changed since the new ID was picked; nothing was written) is tried again with an
   * ID picked for the count the refusal names, until a count repeats (at most
   * `ROTATION_TRIES` tries): a move that starts between a refusal and its retry names a new count.
   */
  async #send(manager: RemoteSessionManager, data: SessionData): Promise<SessionData | undefined> {
    const tried = new Set<number>();
    for (;;) {
      try {
        return await manager.save(data, this.#newKey === undefined ? {} : { newKey: this.#newKey });
      } catch (error) {
        if (error instanceof ConflictError) this.conflict = error;
        if (!(error instanceof WrongShardError) || error.shards === undefined) throw error;
        if (this.#newKey === undefined || tried.has(error.shards)) throw error;
        if (tried.size + 1 >= ROTATION_TRIES) throw error;
        tried.add(error.shards);
        this.#ids.delete(this.#newKey);
        this.#newKey = newSessionIdNear(data.key, error.shards);
        this.#ids.add(this.#newKey);
      }
    }
  }

  /**
   * Commits `data` with a pending `login()`: one commit that moves the session to a new key the
   * service picks (the user's routing tag, then random), bound to the user.
   */
  async #signIn(
    manager: RemoteSessionManager,
    data: SessionData,
    { user, labels }: { user: string; labels: JsonObject },
  ): Promise<SessionData> {
    try {
      await manager.signIn(data, user, labels);
    } catch (error) {
      if (error instanceof ConflictError) this.conflict = error;
      throw error;
    }
    this.#ids.add(data.key);
    return data;
  }

  /** The commit after a successful handler: what `save()` does, if there is anything to do. */
  async commit(): Promise<void> {
    if (this.#data === undefined) return;
    await this.save();
  }
}

/**
 * A new session ID on the same shard as `key`, so that moving a session to it is atomic. A
 * signed-in session's key (`tag!…`) keeps its user's routing tag: it is on the tag's shard at
 * every shard count, and the service refuses to move it to a key without the tag.
 */
function newSessionIdNear(key: string, shards: number): string {
  const tag = tagOf(key);
  if (tag !== undefined) return signedInKey(tag);
  for (;;) {
    const id = newSessionId();
    if (shardOf(id, shards) === shardOf(key, shards)) return id;
  }
}

/** The refusal of a handle that names no session of the signed-in user. */
function handleNotFound(): SessionError {
  return new SessionError(
    "handle_not_found",
    "No live session of this session's user has that handle: it ended, or it is not one of the user's. List them again with devices() for their current handles.",
  );
}
