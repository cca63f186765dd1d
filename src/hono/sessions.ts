import type { Context, MiddlewareHandler, Next } from "hono";
import type { SessionManagerFactory } from "../client/factory.js";
import { type CommitSettings, defaultConflictResponse, runAndCommit } from "./commit.js";
import { SessionCookie } from "./cookie.js";
import { CookieSigner } from "./cookie-signature.js";
import type { SessionsOptions } from "./options.js";
import type { AnySessionData, Session, SessionEnv, SessionShape } from "./session.js";

declare module "hono" {
  interface ContextVariableMap {
    /** The request's session (see `sessions()`); typed data through `SessionEnv<Data>`. */
    session: Session;
  }
}

/**
 * Cookie sessions for any Hono app, backed by edge sessions. The cookie carries only a signed,
 * random 256-bit session ID; data lives in the session manager.
 *
 * - The session is loaded when the handler first asks for it (a request that never does makes no
 *   call), and committed after the handler only when something changed.
 * - Changes, `regenerate()`, `login()` and `destroy()` take effect together, after the handler
 *   succeeded, in one transaction; a handler that throws changes nothing (except what it
 *   `save()`d), and the cookie always names what is stored.
 * - A commit refused by a conflict answers `onConflict` (default 409), or re-runs the handler
 *   (`retry`); it never becomes a 500, and nothing of the request is stored.
 * - A session service that cannot be reached fails closed: `SessionUnavailableError` (503),
 *   `SessionOverloadedError` (503) or `SessionTimeoutError` (504), which answer with their own
 *   status through Hono's default error handler (or map them in `app.onError`). A handler's
 *   response is never sent when its changes could not be stored.
 * - `Set-Cookie` is sent when the ID is new or rotated, to clear a cookie whose session is gone,
 *   and to roll a persistent cookie forward (`rolling`).
 *
 * @example
 * type Data = { count: number };
 * const app = new Hono<{ Bindings: Env } & SessionEnv<Data>>();
 * app.use(
 *   sessions<Data>({
 *     factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, "shop"),
 *     secret: (c) => c.env.SESSION_SECRET,
 *   }),
 * );
 * app.post("/login", async (c) => {
 *   await c.get("session").login("fred", { device: "Laptop" }); // new ID, bound to the user
 *   return c.text("hello");
 * });
 */
export function sessions<Data extends SessionShape<Data> = AnySessionData>({
  factory,
  secret,
  cookie = {},
  maxAge,
  rolling = true,
  retry = 0,
  onConflict = defaultConflictResponse,
  clock = () => Date.now() / 1000,
}: SessionsOptions): MiddlewareHandler<SessionEnv<Data>> {
  if (!Number.isInteger(retry) || retry < 0) {
    throw new TypeError(
      `sessions(): \`retry\` is how many times a handler may run again after a conflict: a whole number of 0 or more, got ${String(retry)}.`,
    );
  }
  const settings: CommitSettings = {
    cookie: new SessionCookie(cookie, rolling),
    maxAge,
    clock,
    retry,
    onConflict,
  };

  // The factory and the signing keys, built once per `env` object: once per isolate.
  type Built = { factory: SessionManagerFactory; signer: CookieSigner };
  const builtPerEnv = new WeakMap<object, Built>();
  let builtWithoutEnv: Built | undefined;
  // Whatever `secret` gave, even undefined (an unset binding): the signer says what is wrong.
  const signerOf = (secrets: string | readonly string[]) =>
    new CookieSigner(Array.isArray(secrets) ? secrets : [secrets as string]);
  // A secret given as a value is checked now: a short one is refused where it is written.
  const fixedSigner = typeof secret === "function" ? undefined : signerOf(secret);
  const build = (c: Context): Built => ({
    factory: typeof factory === "function" ? factory(c) : factory,
    signer: fixedSigner ?? signerOf((secret as (c: Context) => string | readonly string[])(c)),
  });
  const builtFor = (c: Context): Built => {
    const env: unknown = c.env;
    if (typeof env !== "object" || env === null) {
      builtWithoutEnv ??= build(c);
      return builtWithoutEnv;
    }
    let built = builtPerEnv.get(env);
    if (built === undefined) {
      built = build(c);
      builtPerEnv.set(env, built);
    }
    return built;
  };

  return async function sessionMiddleware(c: Context<SessionEnv<Data>>, next: Next) {
    const { factory: opened, signer } = builtFor(c);
    await runAndCommit(c, next, opened, signer, settings);
  };
}
