import { SessionEngine } from "../src/core/engine.js";
import { InvalidInputError, SessionError, WrongShardError } from "../src/core/errors.js";
import { assertAppName, shardOf } from "../src/core/names.js";
import { type AppSettings, resolveAppSettings } from "../src/core/settings.js";
import { type Result, resultOf } from "../src/routing/wire.js";
import type { DeletionRecord } from "./deletion/deletion-record.js";
import type { ChangeEvents } from "./events/change-events.js";
import type { StoredLayout } from "./resharding/layout-record.js";
import { appRow } from "./storage/rows.js";
import type { SqlStore } from "./storage/sql-store.js";

/** The app an object holds, once known. */
export interface OpenApp {
  name: string;
  settings: AppSettings;
  engine: SessionEngine;
  /**
   * Whether the app's row is stored. An app is stored by `open`, `configure` or `adopt`, or with
   * the first session change that stores something; until then it runs on the defaults in memory,
   * so that reads and refused calls write nothing.
   */
  stored: boolean;
}

/**
 * The app an object holds (docs/DESIGN.md#storage): its settings and rules engine, stored in the
 * `app` row or, for an app never stored, held in memory on the defaults.
 */
export class HeldApp {
  readonly #store: SqlStore;
  /** The object's name (`ctx.id.name`), if it has one. */
  readonly #name: string | undefined;
  /** Where the engine's events go, inside each change's transaction. */
  readonly #events: ChangeEvents;
  /** The layout record: the home object stores the app's first layout with the app's row. */
  readonly #layout: StoredLayout;
  /** The app's deletion, if under way: every call on the app is refused meanwhile. */
  readonly #deletion: DeletionRecord;
  #app: OpenApp | undefined;

  constructor(
    store: SqlStore,
    name: string | undefined,
    events: ChangeEvents,
    layout: StoredLayout,
    deletion: DeletionRecord,
  ) {
    this.#store = store;
    this.#name = name;
    this.#events = events;
    this.#layout = layout;
    this.#deletion = deletion;
    const row = appRow.load(store);
    // Settings stored by an older version lack newer settings: fill in their defaults.
    if (row !== undefined) this.#use(row.name, resolveAppSettings(JSON.parse(row.settings)), true);
  }

  /** The app held now, if any. */
  get current(): OpenApp | undefined {
    return this.#app;
  }

  /** Refuses a bad app name; the name of the app held here was checked when it came. */
  check(app: string): void {
    if (this.#app?.name !== app) assertAppName(app);
  }

  /**
   * The app `app`; an app never stored runs on the defaults, in memory only (and, holding
   * nothing, gives way to whichever app the next call names). Refuses another app than the one
   * stored here (`wrong_app`), and the app while it is being deleted (`app_deleting`).
   */
  of(app: string): OpenApp {
    if (this.#deletion.state !== undefined) this.#deletion.refuse(app);
    // The app held here was checked when it was first named.
    if (this.#app?.name === app) return this.#app;
    assertAppName(app);
    if (this.#app === undefined || (!this.#app.stored && this.#app.name !== app)) {
      this.#use(app, resolveAppSettings(), false);
    } else if (this.#app.name !== app) {
      throw new InvalidInputError(
        `This object holds app "${this.#app.name}", not "${app}": derive object names with objectName().`,
        "wrong_app",
      );
    }
    return this.#app as OpenApp;
  }

  /** The app, stored now (with `settings`, defaults filled in) if it was not yet. */
  stored(app: string, settings: Partial<AppSettings>): OpenApp {
    const current = this.of(app);
    if (current.stored) return current;
    this.save(app, resolveAppSettings(settings));
    return this.#app as OpenApp;
  }

  /** Stores the app's row with `settings`, and holds the app with them. */
  save(name: string, settings: AppSettings): void {
    const first = this.#app?.stored !== true;
    appRow.save(this.#store, name, JSON.stringify(settings));
    this.#use(name, settings, true);
    if (first) this.#layout.appStored(name, settings);
  }

  /** Forgets an app first stored since `before` was held, when that transaction failed. */
  forgetIfFirstStoredSince(before: OpenApp | undefined): void {
    if (before?.stored !== true && this.#app?.stored === true) this.#app = undefined;
  }

  /**
   * Runs `fn` for `current`. An app not stored yet is stored in the same transaction once `fn`
   * changed a session: a read or a refused call (bad input, conflict, too large) writes nothing.
   */
  storing<T>(current: OpenApp, fn: () => T): T {
    if (current.stored) return fn();
    const store = this.#store;
    try {
      return store.transaction(() => {
        const writes = store.writes;
        const value = fn();
        if (store.writes > writes) this.save(current.name, current.settings);
        return value;
      });
    } catch (error) {
      // Rolled back, the app's row with it: the app is held as not stored again.
      this.#app = current;
      throw error;
    }
  }

  /**
   * A router routes with an epoch only to objects it introduced the app to (`adopt`). A shard
   * that holds neither the app nor a layout was therefore emptied since: its app was deleted
   * (docs/DESIGN.md#deleting-an-app). It answers `moved` without a layout, and writes nothing:
   * the router asks the home object again and introduces the app anew, with its settings now.
   * `undefined` when the call may go on.
   */
  notIntroduced(app: string, epoch: number | undefined): Result<never> | undefined {
    if (epoch === undefined || this.#app?.stored === true) return undefined;
    if (this.#layout.isHome(app) || this.#layout.record !== undefined) return undefined;
    return resultOf(() => {
      throw new SessionError(
        "moved",
        `This object holds nothing of app "${app}" (it was deleted since): ask its home object for the app's layout, and introduce the app here again.`,
      );
    });
  }

  /**
   * For an object with no layout (a shard reached directly, never introduced by a router): its
   * name and the app's shard count say which keys it holds, and `wrong_shard` answers a key it
   * does not. `undefined` when the keys may be here.
   */
  notHere(app: string, keys: string[]): Result<never> | undefined {
    const [key, newKey] = keys as [string, string | undefined];
    const here = resultOf(() => {
      this.#assertHere(app, key);
      if (newKey !== undefined) this.#assertHere(app, newKey, key);
    });
    return here.ok ? undefined : here;
  }

  /**
   * Refuses `key` when it does not live on this object: an app's keys spread over its shards by
   * `shardOf`, so a session stored elsewhere is one no router would find. The object knows its
   * shard by its name (`app`, or `app#i` for shard i, as `objectName` gives them); one reached
   * without such a name checks only against `near`, a key known to live here (if given).
   */
  #assertHere(app: string, key: string, near?: string): void {
    const { shards } = this.of(app).settings;
    const name = this.#name;
    const here =
      shardOfName(name, app, shards) ?? (near === undefined ? undefined : shardOf(near, shards));
    const target = shardOf(key, shards);
    if (here === undefined || here === target) return;
    throw new WrongShardError(
      app,
      key,
      `Key "${key}" of app "${app}" lives on shard ${target} of ${shards}, not in this object (${name === undefined ? "unnamed" : `"${name}"`}). Reach it through objectName(app, key, shards); to regenerate, pick the new key with shardOf(newKey, shards) === shardOf(oldKey, shards).`,
    );
  }

  #use(name: string, settings: AppSettings, stored: boolean): void {
    const engine = new SessionEngine({
      app: name,
      settings,
      store: this.#store,
      emit: (events) => this.#events.add(settings, events),
    });
    this.#app = { name, settings, engine, stored };
  }
}

/**
 * The shard an object named `name` holds of `app` (`objectName` gives the names): 0 for `app`
 * itself with one shard, `i` for `app#i`, -1 for the home object of a sharded app (it holds the
 * settings, no session); `undefined` when the name is not one of these.
 */
function shardOfName(name: string | undefined, app: string, shards: number): number | undefined {
  if (name === app) return shards <= 1 ? 0 : -1;
  if (name === undefined || !name.startsWith(`${app}#`)) return undefined;
  const index = Number(name.slice(app.length + 1));
  return Number.isInteger(index) && index >= 0 ? index : undefined;
}
