import type { Context } from "hono";
import type { SessionManagerFactory } from "../client/factory.js";
import type { ConflictError } from "../core/errors.js";

/** Options of the `sessions()` middleware. */
export interface SessionsOptions {
  /**
   * Opens the app's session manager (any transport). A function of the request's context is
   * called once per isolate (per `env` object) and its factory kept, so the app is opened once.
   */
  factory: SessionManagerFactory | ((c: Context) => SessionManagerFactory);
  /**
   * Secret(s) that sign the cookie, at least 32 characters each. A list rotates them: the first
   * signs, all verify. A function of the context is called once per isolate, like `factory`.
   * Missing (e.g. an unset `SESSION_SECRET` binding) or short, every request fails with a
   * `TypeError` that says so.
   */
  secret: string | readonly string[] | ((c: Context) => string | readonly string[]);
  /**
   * Cookie name and attributes. Defaults: `sid`, `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`.
   * Browsers keep a `Secure` cookie sent over plain HTTP only from `localhost`/`127.0.0.1`; for
   * another plain-HTTP host in development, set `secure: false` there (never in production).
   */
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
  /**
   * Whether a persistent cookie (`cookie.maxAge`) is sent again, with a full `Max-Age`, on every
   * request that loads its session, so that its expiry follows activity as the inactivity
   * timeout does. Default `true`. With `false`, it is sent when the session is new or rotated,
   * and when the handler calls `session.touch()`.
   */
  rolling?: boolean;
  /**
   * How many times the handler is run again when its commit meets a conflict (another request
   * changed the same session keys meanwhile). Default 0: the answer is `onConflict`'s (409).
   * Only for handlers whose sole effect is on the session: a re-run repeats everything else the
   * handler did (mail sent, rows written). Each re-run starts from a fresh context and the session
   * as stored now; the earlier response is dropped. A request that stored something with
   * `session.save()` is never re-run.
   */
  retry?: number;
  /**
   * The response to a request whose changes were refused by a conflict (after any re-runs).
   * Nothing of the request was stored. Default: 409 `{ error: { code: "session_conflict", message } }`.
   * The error's message and enumerable fields carry neither the session ID nor its data.
   */
  onConflict?: (c: Context, conflict: ConflictError) => Response | Promise<Response>;
  /** Seconds since the epoch, for `maxAge`. Default `Date.now() / 1000`. */
  clock?: () => number;
}
