import { type Changeset, parseChangesets } from "../core/changeset.js";
import { ConflictError, SessionError } from "../core/errors.js";
import type { JsonObject } from "../core/json.js";
import type { AppMetrics } from "../core/metrics.js";
import { assertSessionKey, nameOf, objectName } from "../core/names.js";
import { type CommitResult, isStored, type SessionView } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import {
  assertUser,
  type EndSelection,
  parseEndSelection,
  parseLabels,
  parseSignInChanges,
  type SignInBinding,
  signedInKey,
  type UserSessions,
  userTag,
} from "../core/users.js";
import { AppLayouts } from "./app-layouts.js";
import { addStats, groupByObject, unreachable } from "./fan-out.js";
import { type Layout, layoutObjects, type Placement } from "./layout.js";
import { fanOutMetrics } from "./metrics-fan-out.js";
import type { SessionObjectRpc } from "./object-rpc.js";
import type { AppDeletion, AppStats, SessionManagerRpc } from "./wire.js";
import { type ErrorBody, type Result, resultOf, resultOfText } from "./wire.js";

export type { Placement } from "./layout.js";

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

/** Redirections followed in a row before a call gives up (a second one: the layout changed again). */
const MAX_REDIRECTIONS = 2;

/**
 * The session operations of every app over a Durable Object namespace, with sharding: an app
 * with `shards` > 1 keeps its settings in its home object (named by the app) and its sessions in
 * `shards` objects, a key's object chosen by a stable hash. Each operation goes to the one
 * object that holds the key; `stats` adds up all of them; `configure` reaches all of them.
 *
 * An isolate learns each app's layout once (one call to the home object) and routes on its own
 * from then on, one call per operation. When the app's shard count changes, an object asked for
 * a key it no longer owns answers `moved` with the new layout: the router caches it and retries
 * on the key's owner (docs/DESIGN.md#resharding).
 *
 * @example
 * const router = new SessionRouter(env.SESSION_MANAGER);
 * const session = unwrap(await router.get("shop", "abc"));
 */
export class SessionRouter implements SessionManagerRpc {
  readonly #namespace: SessionObjectNamespace;
  readonly #locationHint: string | undefined;
  readonly #layouts: AppLayouts;
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
    this.#layouts = new AppLayouts((app) =>
      this.object(objectName(app)).layout(app, locationHint === undefined ? {} : { locationHint }),
    );
  }

  /**
   * The object named `name`, created with the app's stored location hint (`layout`), else the
   * router's: a new stub for every call, on an id derived once per isolate.
   *
   * Why not keep the stubs too: in workerd a stub belongs to the request (I/O context) that made
   * it, and using it from another request throws "Cannot perform I/O on behalf of a different
   * request"; an id is plain data and may be kept. Deriving the id (`idFromName`, a hash of the
   * name) is most of what `getByName` costs; making a stub from a known id is cheap.
   */
  object(name: string, layout?: Layout): SessionObjectRpc {
    const locationHint = layout?.placement.locationHint ?? this.#locationHint;
    const options = locationHint === undefined ? undefined : { locationHint };
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
    const known = this.#layouts.cached(app);
    if (result.ok && known !== undefined) known.settings = result.value;
    return result;
  }

  /**
   * In the app's home object first, then in each of its objects. The home object runs a move of
   * the sessions in the background; every session stays reachable meanwhile. Not one
   * transaction: if an object refuses, the error is returned and the call can simply be repeated
   * (it is idempotent).
   */
  async configure(app: string, settings: Partial<AppSettings>): Promise<Result<AppSettings>> {
    const home = objectName(app);
    const result = await this.object(home).configure(app, settings);
    if (!result.ok) return result;
    const learned = await this.#layouts.refresh(app);
    if (!learned.ok) return learned;
    const { layout } = learned.value;
    // Every object takes the new settings; an object never used yet takes them on first use.
    const objects = await Promise.all(
      layoutObjects(app, layout)
        .filter((name) => name !== home)
        .map((name) => this.object(name, layout).configure(app, result.value)),
    );
    return objects.find((r) => !r.ok) ?? result;
  }

  get(app: string, key: string): Promise<Result<SessionView>> {
    return this.#onKey(app, key, (rpc, epoch) => rpc.get(app, key, epoch));
  }

  /** The object's one-string answer (`getJson`), read back without parsing the view. */
  getViewJson(app: string, key: string): Promise<Result<string>> {
    return this.#onKey(app, key, (rpc, epoch) =>
      rpc.getJson(app, key, epoch).then((text) => resultOfText(text) as Result<string>),
    );
  }

  query(app: string, key: string): Promise<Result<SessionView | null>> {
    return this.#onKey(app, key, (rpc, epoch) => rpc.query(app, key, epoch));
  }

  /** As `getViewJson`, over `queryJson`. */
  queryViewJson(app: string, key: string): Promise<Result<string | null>> {
    return this.#onKey(app, key, (rpc, epoch) => rpc.queryJson(app, key, epoch).then(resultOfText));
  }

  has(app: string, key: string): Promise<Result<boolean>> {
    return this.#onKey(app, key, (rpc, epoch) => rpc.has(app, key, epoch));
  }

  /**
   * A move to `newKey` is judged by the object that owns the key, under the layout in force (see
   * `regenerate`).
   */
  commit(app: string, changes: unknown): Promise<Result<CommitResult>> {
    const { key } = (changes ?? {}) as { key?: unknown };
    const oldKey = typeof key === "string" ? key : "";
    return this.#onKey(app, oldKey, (rpc, epoch) => rpc.commit(app, changes, epoch));
  }

  /**
   * One `commitMany` call per object that owns some of the changesets (in parallel), so a unit
   * of work pays one storage write per object, not one per session. A changeset whose `newKey`
   * lives on another shard than its key is refused alone by its object (409 `wrong_shard`), as
   * `commit` is; one whose object answers `moved` (its layout changed) is made again alone
   * through `commit`, which follows the redirection.
   */
  async commitMany(app: string, changes: unknown[]): Promise<Result<Result<CommitResult>[]>> {
    const parsed = resultOf(() => parseChangesets(changes));
    if (!parsed.ok) return parsed;
    const learned = await this.#layouts.known(app);
    if (!learned.ok) return learned;
    const results: Result<CommitResult>[] = [];
    const groups = groupByObject(app, parsed.value, learned.value.layout.shards);
    await Promise.all(
      groups.map(async ({ indexes, changes: group }) => {
        const first = group[0]?.key ?? "";
        // A call that fails (say, the network) answers its own changesets; the others keep theirs.
        const answer = await this.#onKey(app, first, (rpc, epoch) =>
          rpc.commitMany(app, group, epoch),
        ).catch((error: unknown) => unreachable(app, error));
        await Promise.all(
          indexes.map(async (index, j) => {
            const one = answer.ok ? answer.value[j] : answer;
            results[index] =
              one === undefined || (!one.ok && one.error.code === "moved")
                ? await this.commit(app, group[j])
                : (one as Result<CommitResult>);
          }),
        );
      }),
    );
    return { ok: true, value: results };
  }

  invalidate(app: string, key: string): Promise<Result<boolean>> {
    return this.#onKey(app, key, (rpc, epoch) => rpc.invalidate(app, key, epoch));
  }

  /**
   * The move is atomic only within one object: pick `newKey` with `shardOf(newKey, shards) ===
   * shardOf(oldKey, shards)`. Another is refused with `wrong_shard` by the object that owns
   * `oldKey`, never by this router: its cached layout may be older than the one in force, and
   * the count a refusal names must be the object's (docs/DESIGN.md#resharding).
   */
  regenerate(app: string, oldKey: string, newKey: string): Promise<Result<SessionView>> {
    return this.#onKey(app, oldKey, (rpc, epoch) => rpc.regenerate(app, oldKey, newKey, epoch));
  }

  /**
   * Within the object that owns both keys, one transaction. Otherwise (the session's key and the
   * user's tag live in different objects) three steps, each a transaction: the changes are
   * committed at the old key, the new session is made from what that stored in the user's
   * object (`bind`), and the old key ends if it did not change meanwhile (`retire`). If it did,
   * the new session is ended again and the sign-in answers the conflict; if the caller stops in
   * between, the old session goes on and the new one, which nobody holds, expires
   * (docs/DESIGN.md#users).
   */
  async signIn(
    app: string,
    changes: unknown,
    user: string,
    labels?: JsonObject,
  ): Promise<Result<SessionView>> {
    const checked = resultOf(() => {
      assertUser(user);
      return { parsed: parseSignInChanges(changes), labels: parseLabels(labels) };
    });
    if (!checked.ok) return checked;
    const { parsed } = checked.value;
    const binding: SignInBinding = {
      user,
      tag: await userTag(app, user),
      labels: checked.value.labels,
    };
    const newKey = signedInKey(binding.tag);
    const local = await this.#onKey(app, parsed.key, (rpc, epoch) =>
      rpc.signIn(app, parsed, newKey, binding, epoch),
    );
    if (local.ok || local.error.code !== "wrong_shard") return local;
    return this.#signInAcross(app, parsed, newKey, binding);
  }

  async #signInAcross(
    app: string,
    changes: Changeset,
    newKey: string,
    binding: SignInBinding,
  ): Promise<Result<SessionView>> {
    const { key } = changes;
    const stored = await this.#storedForSignIn(app, changes);
    if (!stored.ok) return stored;
    const from = stored.value;
    const content =
      from === null
        ? null
        : { created: from.created, lastModified: from.lastModified, data: from.data };
    const bound = await this.#onKey(app, newKey, (rpc, epoch) =>
      rpc.bind(app, newKey, content, binding, epoch),
    );
    if (!bound.ok || from === null) return bound;
    const retired = await this.#onKey(app, key, (rpc, epoch) =>
      rpc.retire(app, key, from.sid as string, from.version, epoch),
    );
    if (retired.ok) return bound;
    // The old session changed (or ended) since it was read: the new one must not stand for it.
    await this.invalidate(app, newKey);
    return resultOf(() => {
      const error = new ConflictError(key, "conflict", retired.error.current ?? null);
      error.message = `Session "${key}" changed while it was being signed in, so nothing was signed in: read it again and sign in again.`;
      throw error;
    });
  }

  /**
   * What a sign-in across objects carries: the session at the changeset's key after the changes
   * are committed, or `null` for a session never stored that they leave empty.
   */
  async #storedForSignIn(app: string, changes: Changeset): Promise<Result<SessionView | null>> {
    const changesNothing =
      changes.set === undefined &&
      changes.delete === undefined &&
      changes.lastModified === undefined;
    // A session never stored, and nothing to store: the new session begins empty.
    if (changes.version === 0 && changesNothing) return this.query(app, changes.key);
    const committed = await this.commit(app, changes);
    if (!committed.ok) return committed;
    return { ok: true, value: isStored(committed.value) ? committed.value : null };
  }

  async userSessions(app: string, user: string, own?: string): Promise<Result<UserSessions>> {
    const checked = resultOf(() => {
      assertUser(user);
      if (own !== undefined) assertSessionKey(own);
    });
    if (!checked.ok) return checked;
    const ref = { user, tag: await userTag(app, user) };
    const listed = await this.#onKey(app, `${ref.tag}!`, (rpc, epoch) =>
      rpc.userSessions(app, ref, own, epoch),
    );
    return listed.ok ? { ok: true, value: { user, sessions: listed.value } } : listed;
  }

  async endUserSessions(app: string, user: string, which: EndSelection): Promise<Result<number>> {
    const checked = resultOf(() => {
      assertUser(user);
      const selection = parseEndSelection(which);
      if ("except" in selection) assertSessionKey(selection.except);
      return selection;
    });
    if (!checked.ok) return checked;
    const ref = { user, tag: await userTag(app, user) };
    return this.#onKey(app, `${ref.tag}!`, (rpc, epoch) =>
      rpc.endUserSessions(app, ref, checked.value, epoch),
    );
  }

  /**
   * Added up over the app's objects (during a move: those of both layouts). While the app is
   * being deleted, the home object's answer alone: it adds up what the others held when it last
   * asked them (an object already deleted must not be woken up).
   */
  async stats(app: string): Promise<Result<AppStats>> {
    const homeName = objectName(app);
    const home = await this.object(homeName).stats(app);
    if (!home.ok || home.value.deleting === true) return home;
    const layout = home.value.layout;
    const names =
      layout === undefined ? [] : layoutObjects(app, layout).filter((name) => name !== homeName);
    const parts = await Promise.all(names.map((n) => this.object(n, layout).stats(app)));
    const total = home.value;
    // A shard never used yet holds nothing (and answers `app_not_found`).
    for (const part of parts) if (part.ok) addStats(total, part.value);
    return { ok: true, value: total };
  }

  /** Each of the app's objects asked in parallel, each within `timeoutMs` (`fanOutMetrics`). */
  metrics(app: string, timeoutMs?: number): Promise<Result<AppMetrics>> {
    const checked = resultOf(() => objectName(app));
    if (!checked.ok) return Promise.resolve(checked);
    return fanOutMetrics(app, (name) => this.object(name), timeoutMs);
  }

  /**
   * In the app's home object, which deletes the app's other objects, then itself
   * (docs/DESIGN.md#deleting-an-app); call again to follow it. The isolate forgets the app's
   * layout: the name may come back as a new app with other settings.
   */
  async deleteApp(app: string): Promise<Result<AppDeletion>> {
    const result = await this.object(objectName(app)).deleteApp(app);
    this.#layouts.forget(app);
    return result;
  }

  /**
   * Runs `call` on the object that owns `key` under the cached layout, with the layout's epoch.
   * The common case (app known, object introduced) goes straight to the object, without an async
   * step of its own; a redirection (`moved`) is followed on the slow path.
   */
  #onKey<T>(
    app: string,
    key: string,
    call: (rpc: SessionObjectRpc, epoch: number) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    const known = this.#layouts.cached(app);
    if (known !== undefined) {
      const { layout } = known;
      // A known app's name was checked when it was learned.
      const name = nameOf(app, key, layout.shards);
      if (name === app || known.adopted.has(name)) {
        return call(this.object(name, layout), layout.epoch).then((result) => {
          if (result.ok || result.error.code !== "moved") return this.#noted(app, result);
          // Without a layout: the object holds nothing of the app any more (see `#onKeySlowly`).
          if (result.error.layout === undefined) known.adopted.delete(name);
          return this.#onKeySlowly(app, key, call, result.error);
        });
      }
    }
    return this.#onKeySlowly(app, key, call);
  }

  /** An answer, once the isolate took note of it: an app being deleted is forgotten. */
  #noted<T>(app: string, result: Result<T>): Result<T> {
    if (!result.ok && result.error.code === "app_deleting") this.#layouts.forget(app);
    return result;
  }

  /**
   * `#onKey` when the fast path cannot serve: learns the app's layout, introduces the app to an
   * object first, and follows redirections (`moved`, given as `moved` when the fast path got one
   * already): each updates the cached layout and the call is made again on the key's owner.
   */
  async #onKeySlowly<T>(
    app: string,
    key: string,
    call: (rpc: SessionObjectRpc, epoch: number) => Promise<Result<T>>,
    moved?: ErrorBody,
  ): Promise<Result<T>> {
    const learned = await this.#layouts.known(app);
    if (!learned.ok) return learned;
    const known = learned.value;
    let redirections = 0;
    if (moved !== undefined) {
      const followed = await this.#layouts.follow(app, known, moved);
      if (!followed.ok) return followed;
      redirections = 1;
    }
    for (; ; redirections++) {
      const { layout, settings } = known;
      const name = objectName(app, key, layout.shards);
      const rpc = this.object(name, layout);
      if (name !== objectName(app) && !known.adopted.has(name)) {
        const adopted = await rpc.adopt(app, settings, layout);
        if (!adopted.ok) return adopted;
        known.adopted.add(name);
      }
      const result = await call(rpc, layout.epoch);
      if (result.ok || result.error.code !== "moved") return this.#noted(app, result);
      // A `moved` without a layout: the object holds nothing of the app any more (it was
      // deleted since): it is introduced to the app again (docs/DESIGN.md#deleting-an-app).
      if (result.error.layout === undefined) known.adopted.delete(name);
      if (redirections >= MAX_REDIRECTIONS) break;
      const followed = await this.#layouts.follow(app, known, result.error);
      if (!followed.ok) return followed;
    }
    return resultOf(() => {
      throw new SessionError(
        "unavailable",
        `The layout of app "${app}" is changing; retry the request in a moment.`,
      );
    });
  }
}
