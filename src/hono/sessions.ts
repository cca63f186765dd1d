import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import type { RemoteSessionManager, SessionManagerFactory } from "../client/factory";
import type { SessionData } from "../data";
import type { JsonValue } from "../json";
import { WrongShardError } from "../layout";
import { shardOf } from "../naming";
import { CookieSigner, newSessionId } from "./cookie-signature";

/** A new session ID on the same shard as `key`, so that moving a session to it is atomic. */
function newSessionIdNear(key: string, shards: number): string {
  for (;;) {
    const id = newSessionId();
    if (shardOf(id, shards) === shardOf(key, shards)) return id;
  }
}

/** The data key under which flash messages wait for the next request. */
export const FLASH_KEY = "_flash";

/** Options of the `sessions()` middleware. */
export interface SessionsOptions {
  /** Opens the app's session manager (any transport). */
  factory: SessionManagerFactory;
  /**
   * Secret(s) that sign the cookie, at least 32 characters each. A list rotates them: the first
   * signs, all verify.
   */
  secret: string | readonly string[];
  /** Cookie name and attributes. Defaults: `sid`, `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`. */
  cookie?: {
    name?: string;
    path?: string;
    domain?: string;
    secure?: boolean;
    httpOnly?: boolean;
    sameSite?: "Strict" | "Lax" | "None";
    /** Cookie lifetime in seconds; default none (a browser-session cookie). */
    maxAge?: number;
  };
  /**
   * Absolute lifetime in seconds, on top of the manager's inactivity timeout: a session older
   * than this is ended and replaced by a new one, however active. Default: none.
   */
  maxAge?: number;
  /** Seconds since the epoch, for `maxAge`. Default `Date.now() / 1000`. */
  clock?: () => number;
}

/**
 * The session of one request, as `c.get("session")`. Nothing is loaded until the handler asks
 * for it: a request that never touches the session costs no call to the session manager.
 */
export class Session {
  readonly #load: () => Promise<SessionData>;
  readonly #control: SessionControl;
  #data: Promise<SessionData> | undefined;

  /** @internal Made by the middleware. */
  constructor(load: () => Promise<SessionData>, control: SessionControl) {
    this.#load = load;
    this.#control = control;
  }

  /** The session ID, once loaded (`undefined` before). */
  get id(): string | undefined {
    return this.#control.id;
  }

  /** Whether the handler has loaded the session. */
  get loaded(): boolean {
    return this.#data !== undefined;
  }

  /** The session's data (a new, empty session when there is none). Loaded once per request. */
  data(): Promise<SessionData> {
    this.#data ??= this.#load();
    return this.#data;
  }

  /** The value of `key`, or `undefined`. */
  async get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined> {
    return (await this.data()).get<T>(key);
  }

  /** Sets `key`; stored after the handler. */
  async set(key: string, value: JsonValue): Promise<void> {
    (await this.data()).set(key, value);
  }

  /**
   * A new session ID for the same data; the old ID ends (reason `regenerated`). Call it when
   * privileges change, such as at login: the defence against session fixation.
   */
  async regenerate(): Promise<void> {
    await this.data();
    this.#data = this.#control.regenerate();
    await this.#data;
  }

  /** Ends the session and clears the cookie after the handler. */
  async destroy(): Promise<void> {
    (await this.data()).invalidate();
  }

  /** Keeps `value` under `key` for the next request, where `flash(key)` reads it once. */
  async flash(key: string, value: JsonValue): Promise<void>;
  /** The flash message stored under `key` by an earlier request, removed as it is read. */
  async flash<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  async flash(key: string, ...value: JsonValue[]): Promise<unknown> {
    const data = await this.data();
    const flashes = { ...((data.get(FLASH_KEY) as Record<string, JsonValue> | undefined) ?? {}) };
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
  }
}

/** @internal What the middleware tracks of a request's session. */
interface SessionControl {
  id: string | undefined;
  regenerate(): Promise<SessionData>;
}

declare module "hono" {
  interface ContextVariableMap {
    /** The request's session (see `sessions()`). */
    session: Session;
  }
}

/**
 * Cookie sessions for any Hono app, backed by edge sessions. The cookie carries only a signed,
 * random 256-bit session ID; data lives in the session manager. The session is loaded when the
 * handler first asks for it, committed after the handler only when modified, and the cookie is
 * set only when the ID is new or rotated (a cookie whose session is gone is cleared; a persistent
 * cookie, `cookie.maxAge`, is refreshed whenever its session is read). A handler that throws
 * stores nothing.
 *
 * @example
 * const factory = new ServiceSessionManagerFactory(env.SESSIONS, "shop");
 * app.use(sessions({ factory, secret: env.SESSION_SECRET }));
 * app.post("/login", async (c) => {
 *   const session = c.get("session");
 *   await session.regenerate();
 *   await session.set("user", "fred");
 *   return c.text("hello");
 * });
 */
export function sessions({
  factory,
  secret,
  cookie = {},
  maxAge,
  clock = () => Date.now() / 1000,
}: SessionsOptions): MiddlewareHandler {
  const signer = new CookieSigner(typeof secret === "string" ? [secret] : secret);
  const {
    name = "sid",
    path = "/",
    domain,
    secure = true,
    httpOnly = true,
    sameSite = "Lax",
    maxAge: cookieMaxAge,
  } = cookie;
  const attributes: CookieOptions = {
    path,
    secure,
    httpOnly,
    sameSite,
    ...(domain ? { domain } : {}),
  };
  if (cookieMaxAge !== undefined) attributes.maxAge = cookieMaxAge;

  return async function sessionMiddleware(c: Context, next) {
    const cookieId = await signer.verify(getCookie(c, name));
    let manager: RemoteSessionManager | undefined;
    let data: SessionData | undefined;
    /** The ID the browser must be told: set when new or rotated. */
    let issue: string | undefined;
    const control: SessionControl = {
      id: undefined,
      regenerate: async () => {
        const current = data as SessionData;
        const open = manager as RemoteSessionManager;
        if (current.isNew) {
          // Never stored: no old ID to end, just use a new one (and drop the old snapshot, or
          // its changes would be stored under the old ID too).
          open.forget(current.key);
          data = open.create(newSessionId());
          for (const [k, v] of current) data.set(k, v);
        } else {
          await open.connection.commit();
          try {
            data = await open.regenerate(
              current.key,
              newSessionIdNear(current.key, open.settings.shards),
            );
          } catch (error) {
            // The app's shard count changed since the factory opened it: the answer says the one
            // in force, so pick the new ID for it and try once more.
            if (!(error instanceof WrongShardError)) throw error;
            data = await open.regenerate(current.key, newSessionIdNear(current.key, error.shards));
          }
        }
        control.id = data.key;
        issue = data.key;
        return data;
      },
    };
    const load = async (): Promise<SessionData> => {
      manager = await factory.open();
      if (cookieId !== undefined) {
        const found = await manager.query(cookieId);
        if (found !== undefined && (maxAge === undefined || clock() - found.created <= maxAge)) {
          data = found;
          control.id = found.key;
          return found;
        }
        // Past its absolute lifetime: end it now, and start afresh below.
        if (found !== undefined) {
          found.invalidate();
          await manager.connection.commit();
        }
      }
      // No (valid) session: a new ID, stored only if the handler writes to it.
      data = manager.create(newSessionId());
      control.id = data.key;
      issue = data.key;
      return data;
    };
    const session = new Session(load, control);
    c.set("session", session);

    await next();

    if (data === undefined || manager === undefined) return;
    // A handler that failed stores nothing: its changes may be half done.
    if (c.error !== undefined) {
      manager.connection.abort();
      return;
    }
    const destroyed = !data.isValid();
    const modified = data.isModified;
    if (modified) await manager.connection.commit();
    else manager.connection.abort();
    if (destroyed) {
      if (cookieId !== undefined || issue !== undefined) deleteCookie(c, name, attributes);
      return;
    }
    if (issue !== undefined && (modified || !data.isNew)) {
      setCookie(c, name, await signer.sign(issue), attributes);
    } else if (issue !== undefined && cookieId !== undefined) {
      // The browser names a session that is gone, and nothing new was stored: clear its cookie.
      deleteCookie(c, name, attributes);
    } else if (issue === undefined && cookieMaxAge !== undefined) {
      // A persistent cookie rolls forward with the session it names, so activity keeps it alive.
      setCookie(c, name, await signer.sign(data.key), attributes);
    }
    // Otherwise (a new session that was never written, or a session cookie that already names
    // the session) no Set-Cookie.
  };
}
