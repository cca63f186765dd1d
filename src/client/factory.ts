import { SessionData } from "../core/data.js";
import { ConflictError, SessionError } from "../core/errors.js";
import type { JsonObject } from "../core/json.js";
import type { AppMetrics } from "../core/metrics.js";
import { assertAppName, assertSessionKey } from "../core/names.js";
import { type SessionSnapshot, type SessionView, unstoredSnapshot } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import type { EndSelection, UserSessions } from "../core/users.js";
import { type Placement, type SessionObjectNamespace, SessionRouter } from "../routing/router.js";
import type { AppDeletion, SessionManagerRpc } from "../routing/wire.js";
import { ConnectionManager } from "./connection-manager.js";
import { type HttpTransportOptions, httpTransport } from "./http-transport.js";
import { rpcTransport } from "./rpc-transport.js";
import type { TransportOptions } from "./service-errors.js";
import type { SessionTransport } from "./transport.js";

/** Options of every factory: the app's settings (repoze's defaults) and the client's clock. */
export interface FactoryOptions extends Partial<AppSettings> {
  /** Seconds since the epoch; stamps `lastModified` of changes. Default `Date.now() / 1000`. */
  clock?: () => number;
}

/**
 * A session manager of one app, over any transport: the operations of `SessionManagerRpc`
 * (documented there), sessions handed out as `SessionData` that join a `ConnectionManager`.
 */
export class RemoteSessionManager {
  readonly app: string;
  readonly settings: AppSettings;
  readonly connection: ConnectionManager;
  readonly #transport: SessionTransport;
  readonly #clock: () => number;

  /** Made by a factory's `open()`. */
  constructor(
    app: string,
    settings: AppSettings,
    transport: SessionTransport,
    connection: ConnectionManager,
    clock: () => number,
  ) {
    this.app = app;
    this.settings = settings;
    this.#transport = transport;
    this.connection = connection;
    this.#clock = clock;
  }

  /** `SessionManagerRpc.get`; a session the unit of work holds already, without a call. */
  async get(key: string): Promise<SessionData> {
    assertSessionKey(key);
    return this.#known(key) ?? this.#join(await this.#transport.get(key));
  }

  /** `SessionManagerRpc.query`, with `fallback` for `null`; a session held, without a call. */
  async query<D = undefined>(key: string, fallback?: D): Promise<SessionData | D> {
    assertSessionKey(key);
    const known = this.#known(key);
    if (known !== undefined) return known;
    const snapshot = await this.#transport.query(key);
    return snapshot === null ? (fallback as D) : this.#join(snapshot);
  }

  /** `SessionManagerRpc.has`; `true` without a call for a session the unit of work holds. */
  async has(key: string): Promise<boolean> {
    assertSessionKey(key);
    return this.#known(key) !== undefined || (await this.#transport.has(key));
  }

  /**
   * A new, empty session for `key` that is not read from anywhere (no request is made): for a
   * key the caller just made up, such as a fresh random session ID. Stored once committed.
   */
  create(key: string): SessionData {
    assertSessionKey(key);
    const created = this.#clock();
    return this.#join(unstoredSnapshot(key, created));
  }

  /** Drops the session read or created for `key` from the unit of work, uncommitted. */
  forget(key: string): void {
    this.connection.forget(this.app, key);
  }

  /**
   * `SessionManagerRpc.regenerate`: the stored session at `oldKey` moves to `newKey`. The session
   * this unit of work holds for `oldKey` (if any) now stands for the moved one, and is returned;
   * one with uncommitted changes is refused (`uncommitted_changes`, 409) before anything is
   * sent: commit them first, or rotate with them in one commit with `save(data, { newKey })`.
   */
  async regenerate(oldKey: string, newKey: string): Promise<SessionData> {
    assertSessionKey(oldKey);
    assertSessionKey(newKey);
    const held = this.#known(oldKey);
    if (held?.isModified || held?.committing) throw uncommittedChanges(oldKey);
    const moved = await this.#transport.regenerate(oldKey, newKey);
    if (held === undefined) return this.#join(moved);
    this.connection.forget(this.app, oldKey);
    held.settle(moved);
    this.connection.join(this.app, held, this.#transport);
    return held;
  }

  /**
   * Commits the changes of one session now, apart from the rest of the unit of work. With
   * `newKey`, the session also moves to that key (ID rotation): for a stored session in the same
   * transaction as the changes, the old key ending with reason `regenerated`, so both happen or
   * neither; a session never stored is simply stored under `newKey`. Pick `newKey` on the same
   * shard as the old one (`shardOf`).
   *
   * Resolves to `data` itself, which now stands for the session as stored (its `key`, `sid` and
   * `version` follow; it stays in the unit of work and its next change is committed as any
   * other), or `undefined` when no session is stored (invalidated, or a new session with nothing
   * in it). Rejects as `commit` does (`ConflictError`, ...); then nothing was written and `data`
   * keeps its changes.
   */
  async save(
    data: SessionData,
    { newKey }: { newKey?: string } = {},
  ): Promise<SessionData | undefined> {
    if (newKey !== undefined) assertSessionKey(newKey);
    // Nothing to send: a new session stays unstored (under any key), a stored one as it is.
    if (!data.isModified && (newKey === undefined || data.isNew)) {
      return data.isNew ? undefined : data;
    }
    const oldKey = data.key;
    let changes = data.send();
    // A session never stored has no old key to end: it is stored under the new key directly.
    if (newKey !== undefined) {
      changes = data.isNew ? { ...changes, key: newKey } : { ...changes, newKey };
    }
    let stored: SessionView | null;
    try {
      stored = await this.#transport.commit(changes);
    } catch (error) {
      data.unsent();
      throw error;
    }
    data.settle(stored);
    if (this.#known(oldKey) === data) this.connection.forget(this.app, oldKey);
    if (stored === null) return undefined;
    this.connection.join(this.app, data, this.#transport);
    return data;
  }

  /**
   * `SessionManagerRpc.signIn`: signs `data`'s session in as `user` (docs/DESIGN.md#users). Its
   * uncommitted changes go with the sign-in, as one commit; the session moves to a new key the
   * service picks (carrying the user's routing tag), bound to the user with `labels` (a device
   * name, a user agent: a JSON object of at most 1 KiB); the old key ends (`regenerated`).
   * Resolves to `data`, which now stands for the signed-in session: read its new `key` (and set
   * the cookie to it), and `data.user`. Rejects with the typed error of a refusal (`invalid_user`,
   * `invalid_labels`, `ConflictError`, ...); then `data` keeps its changes, as with `save`.
   */
  async signIn(data: SessionData, user: string, labels?: JsonObject): Promise<SessionData> {
    const oldKey = data.key;
    const changes = data.send();
    let signedIn: SessionView;
    try {
      signedIn = await this.#transport.signIn(changes, user, labels);
    } catch (error) {
      data.unsent();
      throw error;
    }
    data.settle(signedIn);
    if (this.#known(oldKey) === data) this.connection.forget(this.app, oldKey);
    this.connection.join(this.app, data, this.#transport);
    return data;
  }

  /**
   * `SessionManagerRpc.userSessions`: the live sessions signed in as `user`, most recently active
   * first, each with the `handle` that ends it; `own` (the caller's session key) is marked
   * `current`. Rejects with `user_not_found` (404) when there are none.
   */
  userSessions(user: string, own?: string): Promise<UserSessions> {
    return this.#transport.userSessions(user, own);
  }

  /**
   * `SessionManagerRpc.endUserSessions`: ends sessions of `user` at once (reason `revoked`):
   * `{ all: true }`, all but the caller's (`{ except: key }`) or one (`{ handle }`). Resolves to
   * how many ended; once it does, no request finds any of them.
   */
  endUserSessions(user: string, which: EndSelection): Promise<number> {
    return this.#transport.endUserSessions(user, which);
  }

  /**
   * `SessionManagerRpc.deleteApp`: deletes this app (docs/DESIGN.md#deleting-an-app). Every
   * session ends with its end event, the events are sent, then the storage of every object of the
   * app is freed. The work goes on in the background: resolves to how far it has come
   * (`deleted: true` at the end), so call it again to follow it. Meanwhile every other call on
   * the app rejects with `app_deleting` (503); once deleted, the name opens as a new app.
   * Rejects with `app_not_found` (404) for an app never used or deleted already.
   *
   * @example
   * let deletion = await manager.deleteApp();
   * while (!deletion.deleted) {
   *   await new Promise((resolve) => setTimeout(resolve, 1000));
   *   deletion = await manager.deleteApp();
   * }
   */
  deleteApp(): Promise<AppDeletion> {
    return this.#transport.deleteApp();
  }

  /**
   * `SessionManagerRpc.metrics`: the app's figures over all its shards (docs/DESIGN.md#metrics).
   * `shards.missing` names the shards that did not answer in time (the figures are then partial).
   *
   * @example
   * const { live, totals } = await sessions.metrics();
   */
  metrics(): Promise<AppMetrics> {
    return this.#transport.metrics();
  }

  #known(key: string): SessionData | undefined {
    return this.connection.lookup(this.app, key);
  }

  #join(snapshot: SessionSnapshot): SessionData {
    const data = new SessionData(snapshot, this.#clock);
    this.connection.join(this.app, data, this.#transport);
    return data;
  }
}

/** A rotation asked of a session that holds changes no commit has sent. */
function uncommittedChanges(key: string): SessionError {
  return new SessionError(
    "uncommitted_changes",
    `Session "${key}" has changes that were not committed: commit them before regenerate(), or rotate the ID with them in one commit: save(data, { newKey }).`,
  );
}

/**
 * Opens managers of one app over a transport. Use one of the named factories below.
 */
export class SessionManagerFactory {
  readonly app: string;
  readonly #transport: SessionTransport;
  readonly #settings: Partial<AppSettings>;
  readonly #clock: () => number;
  #opened: Promise<AppSettings> | undefined;

  constructor(app: string, transport: SessionTransport, options: FactoryOptions = {}) {
    assertAppName(app);
    const { clock = () => Date.now() / 1000, ...settings } = options;
    this.app = app;
    this.#transport = transport;
    this.#settings = settings;
    this.#clock = clock;
  }

  /**
   * A manager whose sessions join `connection` (default: a new `ConnectionManager`, available as
   * `manager.connection`). The first call checks the app's stored settings against the factory's
   * options and rejects with `SettingsMismatchError` naming the setting that differs.
   */
  async open(connection = new ConnectionManager()): Promise<RemoteSessionManager> {
    this.#opened ??= this.#transport.open(this.#settings);
    let settings: AppSettings;
    try {
      settings = await this.#opened;
    } catch (error) {
      this.#opened = undefined;
      throw error;
    }
    return new RemoteSessionManager(this.app, settings, this.#transport, connection, this.#clock);
  }
}

/**
 * For a Worker bound to the `SessionManagerObject` namespace (same script, or another script
 * through `script_name`).
 *
 * @example
 * const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "shop", {
 *   shards: 4, // spread over 4 objects when the app is created (configure changes it later)
 *   jurisdiction: "eu", // optional: data residency
 * });
 * const manager = await factory.open();
 */
export class DurableObjectSessionManagerFactory extends SessionManagerFactory {
  constructor(
    namespace: SessionObjectNamespace,
    app: string,
    options: FactoryOptions & Placement & TransportOptions = {},
  ) {
    const { jurisdiction, locationHint, callTimeout, ...rest } = options;
    const router = new SessionRouter(namespace, { jurisdiction, locationHint });
    super(
      app,
      rpcTransport(app, () => router, { callTimeout }),
      rest,
    );
  }
}

/**
 * For a Worker with a service binding to the session worker's `SessionService` entrypoint.
 *
 * @example
 * // wrangler.toml: [[services]] binding = "SESSIONS", service = "edge-sessions", entrypoint = "SessionService"
 * const factory = new ServiceSessionManagerFactory(env.SESSIONS, "shop");
 */
export class ServiceSessionManagerFactory extends SessionManagerFactory {
  constructor(service: unknown, app: string, options: FactoryOptions & TransportOptions = {}) {
    const { callTimeout, ...rest } = options;
    super(
      app,
      rpcTransport(app, () => service as SessionManagerRpc, { callTimeout }),
      rest,
    );
  }
}

/**
 * For any edge function or Node program, over the session worker's HTTP API.
 *
 * @example
 * const factory = new HttpSessionManagerFactory("https://sessions.example.com", "shop", { token });
 */
export class HttpSessionManagerFactory extends SessionManagerFactory {
  constructor(baseUrl: string, app: string, options: FactoryOptions & HttpTransportOptions) {
    const { token, fetch, callTimeout, ...rest } = options;
    super(app, httpTransport(baseUrl, app, { token, fetch, callTimeout }), rest);
  }
}

/** Options of `withRetry`. */
export interface RetryOptions {
  /** How many times the unit of work runs at most. Default 5. */
  attempts?: number;
}

/**
 * Runs a unit of work and commits it; when the commit meets a `ConflictError`, runs it again
 * from fresh reads, up to `attempts` times. The work must read what it changes through `manager`.
 *
 * @example
 * await withRetry(factory, async (manager) => {
 *   const cart = await manager.get(key);
 *   cart.set("count", (cart.get<number>("count") ?? 0) + 1);
 * });
 */
export async function withRetry<T>(
  factory: SessionManagerFactory,
  work: (manager: RemoteSessionManager) => Promise<T>,
  { attempts = 5 }: RetryOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const manager = await factory.open();
    try {
      const result = await work(manager);
      await manager.connection.commit();
      return result;
    } catch (error) {
      manager.connection.abort();
      if (!(error instanceof ConflictError) || attempt >= attempts) throw error;
    }
  }
}
