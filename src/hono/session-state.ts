import type { RemoteSessionManager, SessionManagerFactory } from "../client/factory.js";
import type { SessionData } from "../core/data.js";
import { ConflictError, SessionError, WrongShardError } from "../core/errors.js";
import { shardOf } from "../core/names.js";
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
    if (this.#newKey === undefined) {
      // On the same shard, so that the move is one transaction in one object.
      const shards = (this.#manager as RemoteSessionManager).settings.shards;
      this.#newKey = newSessionIdNear(data.key, shards);
      this.#ids.add(this.#newKey);
    }
  }

  async destroy(): Promise<void> {
    (await this.load()).invalidate();
    this.#newKey = undefined;
  }

  /** Sends the changes and a pending rotation now; `stored` follows. */
  async save(): Promise<void> {
    const data = await this.load();
    const manager = this.#manager as RemoteSessionManager;
    const sends = data.isModified || (this.#newKey !== undefined && !data.isNew);
    const after = await this.#send(manager, data);
    if (sends) this.saved = true;
    this.#newKey = undefined;
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

  /** The commit after a successful handler: what `save()` does, if there is anything to do. */
  async commit(): Promise<void> {
    if (this.#data === undefined) return;
    await this.save();
  }
}

/** A new session ID on the same shard as `key`, so that moving a session to it is atomic. */
function newSessionIdNear(key: string, shards: number): string {
  for (;;) {
    const id = newSessionId();
    if (shardOf(id, shards) === shardOf(key, shards)) return id;
  }
}
