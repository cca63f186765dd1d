import { parseChangesets } from "./changeset.js";
import { SessionError, WrongShardError } from "./errors.js";
import { objectName, shardOf } from "./naming.js";
import type { AppStats, SessionManagerRpc, SessionObjectRpc } from "./protocol.js";
import { errorBody, type Result, resultOf, unwrap } from "./result.js";
import { type AppSettings, resolveAppSettings } from "./settings.js";
import type { CommitResult, SessionView } from "./stored-session.js";

/**
 * A Durable Object namespace, as far as the router needs it. With `idFromName` and `get` (a real
 * namespace has both), the router derives each object's id once per isolate and reuses it.
 */
export interface SessionObjectNamespace {
  getByName(name: string, options?: { locationHint?: string }): unknown;
  idFromName?(name: string): unknown;
  get?(id: never, options?: { locationHint?: string }): unknown;
  jurisdiction?(name: string): SessionObjectNamespace;
}

/** Object ids the router keeps per isolate; past this many it starts afresh (names are few). */
const MAX_CACHED_IDS = 10_000;

/** Where an app's objects are created: data residency and placement. */
export interface Placement {
  /** Keep the objects in a jurisdiction, e.g. `"eu"` or `"fedramp"`. */
  jurisdiction?: string;
  /** Create new objects near a location, e.g. `"weur"` (a hint, not a guarantee). */
  locationHint?: string;
}

/** An app's settings as this isolate knows them, and the shards it already introduced them to. */
interface KnownApp {
  settings: AppSettings;
  adopted: Set<number>;
}

/**
 * The session operations of every app over a Durable Object namespace, with sharding: an app
 * with `shards` > 1 keeps its settings in its home object (named by the app) and its sessions in
 * `shards` objects, a key's object chosen by a stable hash. Each operation goes to the one
 * object that holds the key; `stats` adds up all of them; `configure` reaches all of them.
 *
 * The number of shards never changes after an app is created, so an isolate learns it once per
 * app (one call to the home object) and routes on its own from then on.
 *
 * @example
 * const router = new SessionRouter(env.SESSION_MANAGER);
 * const session = unwrap(await router.get("shop", "abc"));
 */
export class SessionRouter implements SessionManagerRpc {
  readonly #namespace: SessionObjectNamespace;
  readonly #locationHint: string | undefined;
  readonly #apps = new Map<string, KnownApp>();
  readonly #loading = new Map<string, Promise<KnownApp>>();
  readonly #ids = new Map<string, unknown>();

  constructor(namespace: SessionObjectNamespace, placement: Placement = {}) {
    const { jurisdiction, locationHint } = placement;
    if (jurisdiction !== undefined && typeof namespace.jurisdiction !== "function") {
      throw new TypeError("This Durable Object namespace offers no jurisdiction().");
    }
    this.#namespace =
      jurisdiction === undefined
        ? namespace
        : (namespace.jurisdiction?.(jurisdiction) ?? namespace);
    this.#locationHint = locationHint;
  }

  /**
   * The object named `name`: a new stub for every call, on an id derived once per isolate.
   *
   * Why not keep the stubs too: in workerd a stub belongs to the request (I/O context) that made
   * it, and using it from another request throws "Cannot perform I/O on behalf of a different
   * request"; an id is plain data and may be kept. Deriving the id (`idFromName`, a hash of the
   * name) is most of what `getByName` costs; making a stub from a known id is cheap.
   */
  object(name: string): SessionObjectRpc {
    const options =
      this.#locationHint === undefined ? undefined : { locationHint: this.#locationHint };
    const namespace = this.#namespace;
    if (typeof namespace.idFromName !== "function" || typeof namespace.get !== "function") {
      return namespace.getByName(name, options) as SessionObjectRpc;
    }
    let id = this.#ids.get(name);
    if (id === undefined) {
      if (this.#ids.size >= MAX_CACHED_IDS) this.#ids.clear();
      id = namespace.idFromName(name);
      this.#ids.set(name, id);
    }
    return namespace.get(id as never, options) as SessionObjectRpc;
  }

  async open(app: string, settings?: Partial<AppSettings>): Promise<Result<AppSettings>> {
    const result = await this.object(objectName(app)).open(app, settings);
    if (result.ok) this.#learn(app, result.value);
    return result;
  }

  /**
   * Changes the app's settings in its home object, then in each shard. Not one transaction: if a
   * shard refuses, the error is returned and the call can simply be repeated (it is idempotent).
   */
  async configure(app: string, settings: Partial<AppSettings>): Promise<Result<AppSettings>> {
    const result = await this.object(objectName(app)).configure(app, settings);
    if (!result.ok) return result;
    const next = result.value;
    this.#learn(app, next);
    // Every shard takes the new settings; a shard never used yet takes them on first use.
    const shards = await Promise.all(
      this.#shardNames(app, next.shards).map((name) => this.object(name).configure(app, next)),
    );
    return shards.find((r) => !r.ok) ?? result;
  }

  get(app: string, key: string): Promise<Result<SessionView>> {
    return this.#onKey(app, key, (rpc) => rpc.get(app, key));
  }

  getView(app: string, key: string): Promise<Result<string>> {
    return this.#onKey(app, key, (rpc) => rpc.getView(app, key));
  }

  query(app: string, key: string): Promise<Result<SessionView | null>> {
    return this.#onKey(app, key, (rpc) => rpc.query(app, key));
  }

  queryView(app: string, key: string): Promise<Result<string | null>> {
    return this.#onKey(app, key, (rpc) => rpc.queryView(app, key));
  }

  has(app: string, key: string): Promise<Result<boolean>> {
    return this.#onKey(app, key, (rpc) => rpc.has(app, key));
  }

  /** Applies a changeset; one that also moves the session (`newKey`) must stay on its shard. */
  async commit(app: string, changes: unknown): Promise<Result<CommitResult>> {
    const { key, newKey } = (changes ?? {}) as { key?: unknown; newKey?: unknown };
    const oldKey = typeof key === "string" ? key : "";
    if (typeof newKey === "string") {
      const sameShard = await this.#sameShard(app, oldKey, newKey);
      if (!sameShard.ok) return sameShard;
    }
    return this.#onKey(app, oldKey, (rpc) => rpc.commit(app, changes));
  }

  /**
   * Commits several changesets of `app`: one `commitMany` call per object that holds some of
   * them (in parallel), so a unit of work pays one storage write per object, not one per session.
   * Each changeset is atomic on its own; the results come back in the order given. A changeset
   * whose `newKey` lives on another shard than its key is refused alone (409 `wrong_shard`), as
   * `commit` refuses it.
   */
  async commitMany(app: string, changes: unknown[]): Promise<Result<Result<CommitResult>[]>> {
    const parsed = resultOf(() => parseChangesets(changes));
    if (!parsed.ok) return parsed;
    const learned = await this.#knownResult(app);
    if (!learned.ok) return learned;
    const { shards } = learned.value.settings;
    const results: Result<CommitResult>[] = [];
    const byObject = new Map<string, number[]>();
    parsed.value.forEach((change, i) => {
      if (change.newKey !== undefined) {
        const sameShard = this.#sameShardOf(app, change.key, change.newKey, shards);
        if (!sameShard.ok) {
          results[i] = sameShard;
          return;
        }
      }
      const name = objectName(app, change.key, shards);
      byObject.set(name, [...(byObject.get(name) ?? []), i]);
    });
    await Promise.all(
      [...byObject.values()].map(async (indexes) => {
        const first = parsed.value[indexes[0] as number]?.key ?? "";
        const group = indexes.map((i) => parsed.value[i]);
        const answer = await this.#onKey(app, first, (rpc) => rpc.commitMany(app, group));
        indexes.forEach((index, j) => {
          results[index] = answer.ok
            ? (answer.value[j] as Result<CommitResult>)
            : { ok: false, error: answer.error };
        });
      }),
    );
    return { ok: true, value: results };
  }

  invalidate(app: string, key: string): Promise<Result<boolean>> {
    return this.#onKey(app, key, (rpc) => rpc.invalidate(app, key));
  }

  /**
   * Moves a session to a new key; both keys must live on the same shard for the move to be
   * atomic (pick `newKey` with `shardOf(newKey, shards) === shardOf(oldKey, shards)`), else it
   * is refused.
   */
  async regenerate(app: string, oldKey: string, newKey: string): Promise<Result<SessionView>> {
    const sameShard = await this.#sameShard(app, oldKey, newKey);
    if (!sameShard.ok) return sameShard;
    return this.#onKey(app, oldKey, (rpc) => rpc.regenerate(app, oldKey, newKey));
  }

  /** Refuses a move between shards (409 `wrong_shard`): it could not be atomic. */
  async #sameShard(app: string, oldKey: string, newKey: string): Promise<Result<true>> {
    const learned = await this.#knownResult(app);
    if (!learned.ok) return learned;
    return this.#sameShardOf(app, oldKey, newKey, learned.value.settings.shards);
  }

  /** `#sameShard` for an app whose number of shards is known. */
  #sameShardOf(app: string, oldKey: string, newKey: string, shards: number): Result<true> {
    return resultOf(() => {
      if (shardOf(oldKey, shards) !== shardOf(newKey, shards)) {
        throw new WrongShardError(
          app,
          newKey,
          `Keys "${oldKey}" and "${newKey}" live on different shards of app "${app}", so the move could not be atomic. Pick the new key with shardOf(newKey) === shardOf(oldKey).`,
        );
      }
      return true as const;
    });
  }

  /** The app's stats, added up over its shards. `404 app_not_found` for an app never used. */
  async stats(app: string): Promise<Result<AppStats>> {
    const home = await this.object(objectName(app)).stats(app);
    if (!home.ok || home.value.settings.shards <= 1) return home;
    this.#learn(app, home.value.settings);
    const parts = await Promise.all(
      this.#shardNames(app, home.value.settings.shards).map((n) => this.object(n).stats(app)),
    );
    const total = home.value;
    for (const part of parts) {
      if (!part.ok) continue; // a shard never used yet holds nothing
      total.sessions += part.value.sessions;
      total.pendingEvents += part.value.pendingEvents;
      total.usage.rowsRead += part.value.usage.rowsRead;
      total.usage.rowsWritten += part.value.usage.rowsWritten;
      const sweep = part.value.nextSweep;
      if (sweep !== null && (total.nextSweep === null || sweep < total.nextSweep))
        total.nextSweep = sweep;
    }
    return { ok: true, value: total };
  }

  /**
   * Runs `call` on the object that holds `key`. The common case (app known, shard introduced)
   * goes straight to the object, without an async step of its own.
   */
  #onKey<T>(
    app: string,
    key: string,
    call: (rpc: SessionObjectRpc) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    const known = this.#apps.get(app);
    if (known !== undefined) {
      const { shards } = known.settings;
      // A known app's name was checked when it was learned.
      if (shards <= 1) return call(this.object(app));
      const shard = shardOf(key, shards);
      if (known.adopted.has(shard)) return call(this.object(`${app}#${shard}`));
    }
    return this.#onKeyFirst(app, key, call);
  }

  /** `#onKey` the first time: learns the app's settings, introduces the app to a new shard. */
  async #onKeyFirst<T>(
    app: string,
    key: string,
    call: (rpc: SessionObjectRpc) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    const learned = await this.#knownResult(app);
    if (!learned.ok) return learned;
    const known = learned.value;
    const { shards } = known.settings;
    const rpc = this.object(objectName(app, key, shards));
    if (shards > 1) {
      const shard = shardOf(key, shards);
      if (!known.adopted.has(shard)) {
        const adopted = await rpc.adopt(app, known.settings);
        if (!adopted.ok) return adopted;
        known.adopted.add(shard);
      }
    }
    return call(rpc);
  }

  /** `#known`, with a refusal from the home object (say, a bad app name) as an error result. */
  async #knownResult(app: string): Promise<Result<KnownApp>> {
    try {
      return { ok: true, value: await this.#known(app) };
    } catch (error) {
      if (error instanceof SessionError) return { ok: false, error: errorBody(error) };
      throw error;
    }
  }

  /**
   * The app's settings: from this isolate's memory, or once from its home object. An app not
   * stored yet runs on the defaults (one object) and is asked again next time, since it may be
   * created with other settings meanwhile; asking stores nothing, so a refused call writes nothing.
   */
  async #known(app: string): Promise<KnownApp> {
    const known = this.#apps.get(app);
    if (known !== undefined) return known;
    let loading = this.#loading.get(app);
    if (loading === undefined) {
      loading = this.object(objectName(app))
        .storedSettings(app)
        .then((result) => {
          const stored = unwrap(result);
          if (stored !== null) return this.#learn(app, stored);
          return { settings: resolveAppSettings(), adopted: new Set<number>() };
        })
        .finally(() => this.#loading.delete(app));
      this.#loading.set(app, loading);
    }
    return loading;
  }

  #learn(app: string, settings: AppSettings): KnownApp {
    const known = this.#apps.get(app) ?? { settings, adopted: new Set<number>() };
    known.settings = settings;
    this.#apps.set(app, known);
    return known;
  }

  #shardNames(app: string, shards: number): string[] {
    if (shards <= 1) return [];
    return Array.from({ length: shards }, (_, i) => `${app}#${i}`);
  }
}
