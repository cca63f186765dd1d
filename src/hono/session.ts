import type { SessionData } from "../core/data.js";
import type { JsonObject, JsonValue } from "../core/json.js";
import type { UserSession } from "../core/users.js";
import type { SessionState } from "./session-state.js";

/** The data key under which flash messages wait for the next request. */
export const FLASH_KEY = "_flash";

/**
 * What typed session data may look like: each key a JSON value (or absent). `Data` is checked
 * against it, so `sessions<{ user: string; count: number }>(…)` is accepted and a `Date` field is
 * not.
 */
export type SessionShape<Data> = { [K in keyof Data]: JsonValue | undefined };

/** The session data of an app that does not say (any key, any JSON value). */
export type AnySessionData = Record<string, JsonValue>;

/**
 * The Hono `Env` part the middleware adds: `c.get("session")` is a `Session<Data>`.
 *
 * @example
 * type Data = { user: string; count: number };
 * const app = new Hono<{ Bindings: Env } & SessionEnv<Data>>();
 */
export type SessionEnv<Data extends SessionShape<Data> = AnySessionData> = {
  Variables: { session: Session<Data> };
};

/**
 * The session of one request, as `c.get("session")`. Nothing is loaded until the handler asks
 * for it: a request that never touches the session costs no call to the session manager.
 * Changes, `regenerate()`, `login()` and `destroy()` take effect together when the handler has
 * succeeded (or at `save()`); a handler that throws changes nothing. (`signOutOthers()` and
 * `signOutDevice()` end other sessions, and act at once.)
 *
 * `Data` types the keys and values: with `sessions<{ user: string }>(…)`, `get("user")` is a
 * `Promise<string | undefined>`.
 */
export class Session<Data extends SessionShape<Data> = AnySessionData> {
  readonly #state: SessionState;

  /** @internal Made by the middleware. */
  constructor(state: SessionState) {
    this.#state = state;
  }

  /**
   * The session ID, once loaded (`undefined` before): after `regenerate()`, the new one, which is
   * stored and sent in the cookie when the handler succeeds. After `login()`, the service picks
   * the new ID as it stores the sign-in: it is here once saved.
   */
  get id(): string | undefined {
    return this.#state.id;
  }

  /** Whether the handler has loaded the session. */
  get loaded(): boolean {
    return this.#state.loaded;
  }

  /**
   * The session's data (a new, empty session when there is none), a Map-like `SessionData`.
   * Loaded once per request.
   */
  data(): Promise<SessionData> {
    return this.#state.guard(() => this.#state.load());
  }

  /** The value of `key`, or `undefined`. */
  get<K extends keyof Data & string>(key: K): Promise<Data[K] | undefined> {
    return this.#state.guard(async () => (await this.#state.load()).get(key) as Data[K]);
  }

  /** Sets `key` (a JSON value; anything else throws a `TypeError` naming the key). */
  set<K extends keyof Data & string>(key: K, value: Exclude<Data[K], undefined>): Promise<void> {
    return this.#state.guard(async () => {
      (await this.#state.load()).set(key, value as JsonValue);
    });
  }

  /** Removes `key`; whether it was there. */
  delete(key: keyof Data & string): Promise<boolean> {
    return this.#state.guard(async () => (await this.#state.load()).delete(key));
  }

  /** Whether `key` is set. */
  has(key: keyof Data & string): Promise<boolean> {
    return this.#state.guard(async () => (await this.#state.load()).has(key));
  }

  /** Removes every key (the session and its ID stay). */
  clear(): Promise<void> {
    return this.#state.guard(async () => (await this.#state.load()).clear());
  }

  /**
   * Marks the session as active: loads it (an access, which restarts its inactivity timeout)
   * and, for a persistent cookie, sends the cookie again with a full `Max-Age` (what `rolling`
   * does on every request).
   */
  touch(): Promise<void> {
    return this.#state.guard(() => this.#state.touch());
  }

  /**
   * Drops this request's unsaved changes (`set`, `delete`, `clear`, `destroy()`) and reads the
   * session again as stored now: after a conflict from `save()`, redo the change on it. A
   * pending `regenerate()` stays.
   */
  reload(): Promise<void> {
    return this.#state.guard(() => this.#state.reload());
  }

  /**
   * Stores the changes (and a pending `regenerate()`, `login()` or `destroy()`) now instead of after the
   * handler, and sends the cookie that names the result even if the handler later throws. What
   * was saved stays saved. Rejects with a `ConflictError` when another request changed the same
   * keys: `reload()` and redo, or let it propagate (the middleware then answers it as any
   * conflict).
   */
  save(): Promise<void> {
    return this.#state.guard(() => this.#state.save());
  }

  /**
   * A new session ID for the same data, against session fixation: call it when privileges
   * change, such as at login. It takes effect with the request's changes when the handler has
   * succeeded, in one transaction: the data moves to the new ID, the old ID ends (reason
   * `regenerated`), and the cookie names the new ID. (express-session's `regenerate` starts an
   * empty session instead: call `clear()` as well for that.)
   */
  regenerate(): Promise<void> {
    return this.#state.guard(() => this.#state.regenerate());
  }

  /**
   * Ends the session (reason `invalidated`) and clears the cookie, when the handler has
   * succeeded. A pending `regenerate()` is dropped; the session takes no more changes.
   */
  destroy(): Promise<void> {
    return this.#state.guard(async () => {
      await this.#state.destroy();
    });
  }

  /**
   * Signs the session in as `user` (the user's ID in the app's database: 1 to 256 characters),
   * with `labels` for its devices page (a JSON object of at most 1 KiB, such as
   * `{ device: "Firefox on Linux" }`). Like `regenerate()`, it takes effect with the request's
   * changes when the handler has succeeded (or at `save()`), as one commit: the session moves to a
   * new ID (the old one ends, reason `regenerated`; the data stays), bound to the user, and the
   * cookie names the new ID. Signing in as another user rotates again. A bad `user` or `labels`
   * throws `InvalidInputError` (`invalid_user`, `invalid_labels`: 400) at once, changing nothing.
   * Sign out with `destroy()`.
   */
  login(user: string, labels?: JsonObject): Promise<void> {
    return this.#state.guard(() => this.#state.login(user, labels));
  }

  /**
   * The user the session is signed in as (or will be, after a pending `login()`), or `null`.
   * Loads the session. A session whose user signed it out from another device is gone: this
   * request sees a new session, with no user.
   */
  user(): Promise<string | null> {
    return this.#state.guard(() => this.#state.user());
  }

  /**
   * The live sessions of the session's user, most recently active first: for each, the `handle`
   * that `signOutDevice` takes (never the session ID), `created`, `lastActive` (to the period),
   * `expires`, the `labels` given at login, and `current` for this one. `[]` when the session is
   * not signed in. One call to the session manager, to the one object that holds the user's
   * sessions. After a pending `login()`, this session is listed once saved (`save()`).
   */
  devices(): Promise<UserSession[]> {
    return this.#state.guard(() => this.#state.devices());
  }

  /**
   * Ends every other session of the session's user at once (reason `revoked`), and resolves to
   * how many ended: once it does, no request finds any of them. Acts now, not at commit. `0`
   * when the session is not signed in. With a pending `login()`, every session the user had
   * before ends, and this one is signed in when the handler succeeds.
   */
  signOutOthers(): Promise<number> {
    return this.#state.guard(() => this.#state.signOutOthers());
  }

  /**
   * Ends one session of the session's user (reason `revoked`), by the `handle` that `devices()`
   * lists, now. A handle that names no live session of this user (ended, another user's, made
   * up) rejects with `handle_not_found` (404), ending nothing. For this device, use `destroy()`,
   * which also clears its cookie.
   */
  signOutDevice(handle: string): Promise<void> {
    return this.#state.guard(() => this.#state.signOutDevice(handle));
  }

  /** Keeps `value` under `key` for the next request, where `flash(key)` reads it once. */
  async flash(key: string, value: JsonValue): Promise<void>;
  /** The flash message stored under `key` by an earlier request, removed as it is read. */
  async flash<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  async flash(key: string, ...value: JsonValue[]): Promise<unknown> {
    return this.#state.guard(async () => {
      const data = await this.#state.load();
      const flashes = {
        ...((data.get(FLASH_KEY) as Record<string, JsonValue> | undefined) ?? {}),
      };
      if (value.length > 0) {
        flashes[key] = value[0] as JsonValue;
        data.set(FLASH_KEY, flashes);
        return undefined;
      }
      if (!Object.hasOwn(flashes, key)) return undefined;
      const message = flashes[key];
      delete flashes[key];
      if (Object.keys(flashes).length === 0) data.delete(FLASH_KEY);
      else data.set(FLASH_KEY, flashes);
      return message;
    });
  }
}
