import { type Context, Context as HonoContext, type MiddlewareHandler, type Next } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { matchedRoutes } from "hono/route";
import type { CookieOptions } from "hono/utils/cookie";
import type { RemoteSessionManager, SessionManagerFactory } from "../client/factory.js";
import type { SessionData } from "../data.js";
import { ConflictError, SessionError, WrongShardError } from "../errors.js";
import type { JsonValue } from "../json.js";
import { shardOf } from "../names.js";
import { CookieSigner, newSessionId, rawCookie } from "./cookie-signature.js";

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

/** What stands for a session ID in error messages: the ID is a credential, never logged. */
const REDACTED_ID = "[session id]";

/**
 * The session of one request, as `c.get("session")`. Nothing is loaded until the handler asks
 * for it: a request that never touches the session costs no call to the session manager.
 * Changes, `regenerate()` and `destroy()` take effect together when the handler has succeeded
 * (or at `save()`); a handler that throws changes nothing.
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
   * stored and sent in the cookie when the handler succeeds.
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
   * Stores the changes (and a pending `regenerate()` or `destroy()`) now instead of after the
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
        409,
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
    let after: SessionData | undefined;
    try {
      after = await manager.save(data, this.#newKey === undefined ? {} : { newKey: this.#newKey });
    } catch (error) {
      if (error instanceof ConflictError) this.conflict = error;
      // The app's shard count changed since the factory opened it: the answer names the count in
      // force, so pick the new ID for it and try once more (the refused commit wrote nothing).
      if (!(error instanceof WrongShardError && error.shards !== undefined)) throw error;
      if (this.#newKey === undefined) throw error;
      this.#ids.delete(this.#newKey);
      this.#newKey = newSessionIdNear(data.key, error.shards);
      this.#ids.add(this.#newKey);
      after = await manager.save(data, { newKey: this.#newKey });
    }
    if (sends) this.saved = true;
    this.#newKey = undefined;
    if (after === undefined) {
      // Destroyed (or never stored): later changes go to a new session, under a new ID.
      this.#use(manager.create(newSessionId()), undefined);
    } else {
      this.#use(after, after.isNew ? undefined : after.key);
    }
    this.#loading = Promise.resolve(this.#data as SessionData);
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
 * - Changes, `regenerate()` and `destroy()` take effect together, after the handler succeeded,
 *   in one transaction; a handler that throws changes nothing (except what it `save()`d), and
 *   the cookie always names what is stored.
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
 * type Data = { user: string; count: number };
 * const app = new Hono<{ Bindings: Env } & SessionEnv<Data>>();
 * app.use(
 *   sessions<Data>({
 *     factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, "shop"),
 *     secret: (c) => c.env.SESSION_SECRET,
 *   }),
 * );
 * app.post("/login", async (c) => {
 *   const session = c.get("session");
 *   await session.regenerate();
 *   await session.set("user", "fred");
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

  // The factory and the signing keys, built once per `env` object: once per isolate.
  type Built = { factory: SessionManagerFactory; signer: CookieSigner };
  const builtPerEnv = new WeakMap<object, Built>();
  let builtWithoutEnv: Built | undefined;
  const signerOf = (secrets: string | readonly string[]) =>
    new CookieSigner(typeof secrets === "string" ? [secrets] : secrets);
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

  /** Sets or clears the cookie so that it names what is stored. */
  const sendCookie = async (c: Context, state: SessionState, signer: CookieSigner, ok: boolean) => {
    if (!state.loaded) return;
    const { stored } = state;
    const cookieId = state.cookieId;
    if (stored === undefined) {
      // Nothing stored for this browser: a cookie naming a session that is gone is cleared.
      if (cookieId !== undefined) deleteCookie(c, name, attributes);
      return;
    }
    const rolls = ok && cookieMaxAge !== undefined && (rolling || state.touched);
    if (stored !== cookieId || rolls) setCookie(c, name, await signer.sign(stored), attributes);
  };

  return async function sessionMiddleware(c: Context<SessionEnv<Data>>, next: Next) {
    const { factory: opened, signer } = builtFor(c);
    const cookieId = await signer.verify(rawCookie(c.req.header("cookie"), name));
    // What middleware before this one has put on the response and the context: kept when the
    // handler's response is replaced (a conflict's answer, a re-run's response).
    const upstreamHeaders = new Headers(c.res.headers);
    const upstreamVars = Object.entries(c.var);
    const downstream = retry > 0 ? downstreamOf(c) : undefined;

    let ctx: Context = c;
    for (let run = 0; ; run++) {
      const state = new SessionState({ factory: opened, cookieId, maxAge, clock });
      // The context of a re-run is untyped: its `session` is this middleware's `Session<Data>`.
      ctx.set("session", new Session<Data>(state) as unknown as Session);
      if (ctx === c) await next();
      else await runDownstream(ctx, downstream ?? []);

      let conflict: ConflictError | undefined;
      let failure: unknown;
      if (ctx.error === undefined) {
        try {
          await state.commit();
        } catch (error) {
          if (error instanceof ConflictError) conflict = error;
          else failure = error;
        }
      } else if (ctx.error === state.conflict) {
        // The handler let a conflict from save() propagate.
        conflict = state.conflict;
      } else if (ctx !== c) {
        // A re-run threw: nothing of it is stored; the app's error handler answers.
        failure = ctx.error;
      }

      if (conflict !== undefined && run < retry && downstream !== undefined && !state.saved) {
        discard(ctx);
        ctx = freshContext(c, upstreamVars);
        continue;
      }
      if (conflict !== undefined) {
        const answer = await onConflict(c, state.redact(conflict) as ConflictError);
        replaceResponse(c, answer, upstreamHeaders);
      } else if (failure !== undefined) {
        // Fail closed: the handler's response claimed what was not stored. The app's error
        // handler answers (a SessionError knows its status), with the cookie set below.
        replaceResponse(c, new Response(null), upstreamHeaders);
        await sendCookie(c, state, signer, false);
        throw state.redact(failure);
      } else if (ctx !== c) {
        replaceResponse(c, ctx.finalized ? ctx.res : await ctx.notFound(), upstreamHeaders);
      }
      await sendCookie(c, state, signer, conflict === undefined && ctx.error === undefined);
      return;
    }
  };
}

/** The default answer to a conflict: 409, JSON, no session data, no session ID. */
function defaultConflictResponse(): Response {
  return Response.json(
    {
      error: {
        code: "session_conflict",
        message:
          "Another request changed this session at the same time, so nothing of this request was stored. Send it again.",
      },
    },
    { status: 409 },
  );
}

/** A handler (or middleware) after this one in the matched chain, with its route index. */
interface Downstream {
  handler: MiddlewareHandler;
  index: number;
}

/** The handlers that run after this middleware for this request, to run them again. */
function downstreamOf(c: Context): Downstream[] | undefined {
  try {
    const here = c.req.routeIndex;
    return matchedRoutes(c)
      .map((route, index) => ({ handler: route.handler as MiddlewareHandler, index }))
      .slice(here + 1);
  } catch {
    return undefined; // a context Hono's router did not make: no re-run, the conflict answers
  }
}

/**
 * Runs `handlers` on `ctx` as Hono's `compose` does; an error is left in `ctx.error` (the app's
 * error handler answers it once the middleware rethrows it).
 */
async function runDownstream(ctx: Context, handlers: Downstream[]): Promise<void> {
  let last = -1;
  const dispatch = async (i: number): Promise<void> => {
    if (i <= last) throw new Error("next() called multiple times");
    last = i;
    const step = handlers[i];
    if (step === undefined) return;
    ctx.req.routeIndex = step.index;
    const res = await step.handler(ctx, () => dispatch(i + 1));
    if (res instanceof Response && !ctx.finalized) ctx.res = res;
  };
  try {
    await dispatch(0);
  } catch (error) {
    ctx.error = error instanceof Error ? error : new Error(String(error));
  }
}

/** A context for a re-run: the same request (params, cached body), the upstream variables. */
function freshContext(c: Context, vars: [string, unknown][]): Context {
  let executionCtx: Context["executionCtx"] | undefined;
  try {
    executionCtx = c.executionCtx;
  } catch {
    executionCtx = undefined; // none, e.g. in app.request()
  }
  const fresh = new HonoContext(c.req.raw, {
    env: c.env,
    executionCtx,
    notFoundHandler: (ctx: Context) => ctx.text("404 Not Found", 404),
  });
  Object.defineProperty(fresh, "req", { value: c.req });
  for (const [key, value] of vars) fresh.set(key as never, value as never);
  const layout = c.getLayout();
  if (layout !== undefined) fresh.setLayout(layout);
  return fresh;
}

/** Drops the response of a run that will not be sent. */
function discard(ctx: Context): void {
  if (ctx.finalized) cancelBody(ctx.res);
}

function cancelBody(response: Response): void {
  // A body already read or locked cannot be cancelled; it is dropped all the same.
  response.body?.cancel().catch(() => {});
}

/**
 * Makes `response` the answer of `c` instead of the handler's, with the headers that middleware
 * before this one had set (as Hono merges them into a handler's response).
 */
function replaceResponse(c: Context, response: Response, upstream: Headers): void {
  if (c.finalized && c.res !== response) cancelBody(c.res);
  const answer = new Response(response.body, response);
  for (const [key, value] of upstream) {
    if (key === "content-type" || key === "set-cookie") continue;
    answer.headers.set(key, value);
  }
  for (const cookie of upstream.getSetCookie()) answer.headers.append("set-cookie", cookie);
  c.res = undefined;
  c.res = answer;
}
