import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";
import { type CookieSigner, rawCookie } from "./cookie-signature.js";
import type { SessionsOptions } from "./options.js";
import type { SessionState } from "./session-state.js";

/** The session cookie: its name and attributes (the `cookie` option, defaults filled in). */
export class SessionCookie {
  readonly #name: string;
  readonly #attributes: CookieOptions;
  /** The lifetime of a persistent cookie in seconds; `undefined` for a browser-session cookie. */
  readonly #maxAge: number | undefined;
  readonly #rolling: boolean;

  constructor(
    {
      name = "sid",
      path = "/",
      domain,
      secure = true,
      httpOnly = true,
      sameSite = "Lax",
      maxAge,
    }: NonNullable<SessionsOptions["cookie"]>,
    rolling: boolean,
  ) {
    this.#name = name;
    this.#attributes = {
      path,
      secure,
      httpOnly,
      sameSite,
      ...(domain ? { domain } : {}),
    };
    if (maxAge !== undefined) this.#attributes.maxAge = maxAge;
    this.#maxAge = maxAge;
    this.#rolling = rolling;
  }

  /** The session ID the request's cookie names, verified; `undefined` for none. */
  read(c: Context, signer: CookieSigner): Promise<string | undefined> {
    return signer.verify(rawCookie(c.req.header("cookie"), this.#name));
  }

  /**
   * Sets or clears the cookie so that it names what is stored. `ok`: the request succeeded, so a
   * persistent cookie rolls forward.
   */
  async send(c: Context, state: SessionState, signer: CookieSigner, ok: boolean): Promise<void> {
    if (!state.loaded) return;
    const { stored } = state;
    const cookieId = state.cookieId;
    if (stored === undefined) {
      // Nothing stored for this browser: a cookie naming a session that is gone is cleared.
      if (cookieId !== undefined) deleteCookie(c, this.#name, this.#attributes);
      return;
    }
    const rolls = ok && this.#maxAge !== undefined && (this.#rolling || state.touched);
    if (stored !== cookieId || rolls) {
      setCookie(c, this.#name, await signer.sign(stored), this.#attributes);
    }
  }
}
