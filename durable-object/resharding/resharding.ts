import { describeError, SessionError } from "../../src/core/errors.js";
import { objectName } from "../../src/core/names.js";
import type { StoredSession } from "../../src/core/session-view.js";
import type { AppSettings } from "../../src/core/settings.js";
import {
  type AppLayout,
  initialLayout,
  type Layout,
  layoutObjects,
  MovedError,
  objectsOf,
  ownerOf,
  type Placement,
  parseLayout,
} from "../../src/routing/layout.js";
import type { HandOffArgs, SessionObjectRpc } from "../../src/routing/object-rpc.js";
import type { SessionObjectNamespace } from "../../src/routing/router.js";
import { errorFromBody, type Result, resultOf } from "../../src/routing/wire.js";
import type { Alarm } from "../alarm/alarm.js";
import type { HeldApp, OpenApp } from "../held-app.js";
import { moveInRows, moveOutRows } from "../storage/rows.js";
import type { SqlStore } from "../storage/sql-store.js";
import { fresh, type LayoutRecord, type StoredLayout } from "./layout-record.js";

/** Keys remembered as already pulled during a move (memory only; forgetting costs a call). */
const PULLED_MEMORY = 50_000;
/** Keys a drain batch reads from `sessions` (in key order, after its cursor). */
export const SCAN_BATCH = 200;
/** Handed-off sessions sent to their owners per drain batch, at most. */
const SEND_ROWS = 200;
/** Bytes of session JSON in one `receive` call, at most (at least one session per call). */
const SEND_BYTES = 1_000_000;
/** Drain batches one alarm run works through at most before it yields and re-arms. */
const DRAIN_BATCHES_PER_ALARM = 25;
/**
 * How long one alarm run of the drain works (ms); it then rests `DRAIN_REST_MS` before the next:
 * the drain takes at most about half of a source's time, so its own traffic (pulls of the keys
 * it still holds, the keys it keeps) goes on at a steady pace.
 */
const DRAIN_RUN_MS = 200;

/**
 * The resharding protocol on the side of one Durable Object (docs/DESIGN.md#resharding), but for
 * the owner side (move-owner.ts, which checks ownership, pulls and takes in, on top of this):
 *
 * - the layout as this object knows it: its own, a newer one learned from the home object, the
 *   keys pulled during the current move, and the app's other objects;
 * - the home object's part: the app's layouts, moves started and ended, every object told;
 * - the source side: the hand-off (copy to `move_out`, then delete when the owner confirms), and
 *   the alarm's part of a move (the home object's push, then the drain in bounded batches).
 *
 * Its state is the layout record (layout-record.ts), and the promises and counts of work in
 * flight here.
 */
export class Resharding {
  readonly #record: StoredLayout;
  readonly #store: SqlStore;
  readonly #app: HeldApp;
  readonly #alarm: Alarm;
  readonly #objects: () => SessionObjectNamespace | undefined;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  /** Keys of the current move already pulled (or found absent at their source). */
  #pulled = new Set<string>();
  #refreshing: Promise<void> | undefined;
  #pushing: Promise<void> | undefined;
  /** Sessions handed off since the object started. */
  #movedOut = 0;

  /**
   * `objects` gives the namespace of the app's objects (the object's `sessionObjects()`, asked
   * each time); `waitUntil` keeps background work (a push, a release) alive.
   */
  constructor(
    record: StoredLayout,
    store: SqlStore,
    app: HeldApp,
    alarm: Alarm,
    objects: () => SessionObjectNamespace | undefined,
    waitUntil: (promise: Promise<unknown>) => void,
  ) {
    this.#record = record;
    this.#store = store;
    this.#app = app;
    this.#alarm = alarm;
    this.#objects = objects;
    this.#waitUntil = waitUntil;
  }

  // ---------------------------------------------------------------------------------------------
  // The layout as this object knows it

  /** This object's layout of `app`, if it has one (the home object's is made from its settings). */
  current(app: string): Layout | undefined {
    const held = this.#app.current;
    if (held !== undefined && held.name !== app) return undefined;
    const record = this.#record.record;
    if (record !== undefined) return record.layout;
    if (held !== undefined && this.isHome(app)) return initialLayout(held.settings.shards);
    return undefined;
  }

  /** Sessions handed off since the object started (for `stats`; the owner counts those taken in). */
  get movedOut(): number {
    return this.#movedOut;
  }

  /** The shard count asked for (the app's settings): the layout's own, unless a move waits. */
  targetShards(layout: Layout): number {
    return this.#app.current?.settings.shards ?? layout.shards;
  }

  isHome(app: string): boolean {
    return this.#record.isHome(app);
  }

  /** Takes `layout` if it is newer than this object's; returns whether it did. */
  adopt(layout: Layout): boolean {
    const record = this.#record.record;
    const current = record?.layout;
    if (current !== undefined && layout.epoch <= current.epoch) return false;
    // A layout newer than the one of a move means that move has ended: every source confirmed
    // every hand-off, so the ledger of sessions taken in is no longer needed.
    if (current !== undefined) moveInRows.clear(this.#store);
    this.#record.save({
      ...(record ?? fresh(layout)),
      layout,
      cursor: null,
      scanned: false,
      reported: false,
    });
    this.#pulled = new Set();
    this.#alarm.arm();
    return true;
  }

  /** Learns a newer layout from the home object when `epoch` is ahead of this object's. */
  async catchUp(app: string, epoch: number): Promise<void> {
    const layout = this.current(app);
    if (this.isHome(app) || (layout !== undefined && epoch <= layout.epoch)) return;
    this.#refreshing ??= (async () => {
      try {
        const result = await this.object(objectName(app)).layout(app);
        if (result.ok) this.adopt(parseLayout(result.value.layout));
      } finally {
        this.#refreshing = undefined;
      }
    })();
    await this.#refreshing;
  }

  adoptOrRefresh(app: string, layout: Layout): void {
    if (!this.isHome(app)) this.adopt(layout);
  }

  /** Whether `key` was pulled (or found absent at its source) during the current move. */
  wasPulled(key: string): boolean {
    return this.#pulled.has(key);
  }

  remember(keys: string[]): void {
    if (this.#pulled.size + keys.length > PULLED_MEMORY) this.#pulled = new Set();
    for (const key of keys) this.#pulled.add(key);
  }

  /** The app's object `name`, in this object's placement. */
  object(name: string): SessionObjectRpc {
    return objectIn(this.#objects(), name, this.#record.placement());
  }

  /**
   * `wrong_shard` for keys this object does not hold, when it knows no layout (a shard reached
   * directly, never introduced by a router: see `HeldApp.notHere`). `undefined` when they may be
   * here; with a layout, the owner side decides.
   */
  notHere(app: string, keys: string[]): Result<never> | undefined {
    if (this.current(app) !== undefined) return undefined;
    return this.#app.notHere(app, keys);
  }

  // ---------------------------------------------------------------------------------------------
  // The home object: the app's layouts, moves started and ended, every object told

  /**
   * The home object's answer to a router: the app's settings and layout. An app never stored
   * answers the layout it would start with, and nothing is written (a read, or a call refused
   * later, must write nothing); the router's location hint is kept for when the app is stored.
   */
  homeAnswer(current: OpenApp, placement: Placement | undefined): AppLayout {
    if (current.stored) {
      return {
        settings: current.settings,
        layout: this.homeLayout(current.name, current.settings, placement),
      };
    }
    this.#record.hint = placement;
    return {
      settings: current.settings,
      layout: initialLayout(current.settings.shards, {
        jurisdiction: this.#record.jurisdiction,
        locationHint: placement?.locationHint,
      }),
      stored: false,
    };
  }

  /** The home object's layout, stored with `placement` the first time it is asked for. */
  homeLayout(app: string, settings: AppSettings, placement: Placement = {}): Layout {
    if (!this.isHome(app)) {
      throw new SessionError(
        "not_home",
        `Object ${this.#record.name} is a shard of app "${app}": ask its home object (${objectName(app)}) for the layout.`,
      );
    }
    return this.#record.homeLayout(settings, placement);
  }

  /**
   * The home object, in the transaction that stores `next` settings: starts a move to
   * `next.shards` if none is under way (else the move that follows goes there).
   */
  retarget(app: string, before: AppSettings, next: AppSettings): void {
    // An object without a name is no app's home and no shard: its sessions have nowhere to go.
    if (this.#record.name === undefined && next.shards !== before.shards) {
      throw new SessionError(
        "unnamed_object",
        `App "${app}" lives in an object without a name, so its sessions cannot move: create its objects with getByName().`,
      );
    }
    if (!this.isHome(app)) return;
    const record = this.#record.record;
    const layout = record?.layout ?? initialLayout(before.shards, this.#record.placement());
    if (layout.from !== null || next.shards === layout.shards) {
      // Nothing to move now; during a move, the next one goes to `next.shards` when it ends.
      if (record === undefined) this.#record.save(fresh(layout));
      return;
    }
    this.#begin(app, {
      ...layout,
      epoch: layout.epoch + 1,
      shards: next.shards,
      from: layout.shards,
    });
  }

  /** The home object: source `name` is drained. The last one ends the move. */
  moveDone(app: string, epoch: number, name: string): Layout {
    const record = this.#record.record;
    if (!this.isHome(app) || record === undefined) {
      throw new SessionError("not_home", `Report the end of a move to ${objectName(app)}.`);
    }
    const { layout } = record;
    if (layout.epoch !== epoch || layout.from === null) return layout;
    const drained = record.drained.includes(name) ? record.drained : [...record.drained, name];
    if (!objectsOf(app, layout.from).every((source) => drained.includes(source))) {
      this.#record.save({ ...record, drained });
      return layout;
    }
    const target = this.targetShards(layout);
    const next: Layout =
      target === layout.shards
        ? { ...layout, epoch: layout.epoch + 1, from: null }
        : { ...layout, epoch: layout.epoch + 1, shards: target, from: layout.shards };
    this.#begin(app, next, layoutObjects(app, layout));
    return next;
  }

  /** The home object tells every object in `pushTo` the app's settings and layout. */
  #push(app: string): Promise<void> {
    this.#pushing ??= this.#pushOnce(app).finally(() => {
      this.#pushing = undefined;
    });
    return this.#pushing;
  }

  async #pushOnce(app: string): Promise<void> {
    const record = this.#record.record;
    const settings = this.#app.current?.settings;
    if (record === undefined || settings === undefined) return;
    const { layout } = record;
    const names = [...record.pushTo];
    const told = await Promise.all(
      names.map(async (name) => {
        try {
          return (await this.object(name).adopt(app, settings, layout)).ok;
        } catch {
          return false;
        }
      }),
    );
    const after = this.#record.record;
    if (after === undefined || after.layout.epoch !== layout.epoch) return;
    const done = new Set(names.filter((_, i) => told[i]));
    this.#record.save({ ...after, pushTo: after.pushTo.filter((name) => !done.has(name)) });
    if (done.size < names.length) {
      this.#record.stalled = true;
      this.#alarm.arm();
    }
  }

  /** The home object starts `next`; every object of it (and of `also`) is told. */
  #begin(app: string, next: Layout, also: string[] = []): void {
    const record = this.#record.record ?? fresh(next);
    const home = objectName(app);
    const pushTo = [...new Set([...record.pushTo, ...also, ...layoutObjects(app, next)])].filter(
      (name) => name !== home,
    );
    if (this.#record.record !== undefined) moveInRows.clear(this.#store);
    this.#record.save({
      ...record,
      layout: next,
      cursor: null,
      scanned: false,
      reported: false,
      drained: [],
      pushTo,
      peak: Math.max(record.peak ?? 1, record.layout.shards, next.shards, next.from ?? 1),
    });
    // A new move begins: the keys pulled during the last one are forgotten.
    this.#pulled = new Set();
    this.#alarm.arm();
    this.#waitUntil(this.#push(app).catch(() => undefined));
  }

  // ---------------------------------------------------------------------------------------------
  // The source side: hand-off, release, and the alarm's part of a move (push, drain)

  /**
   * A source's answer to an owner's pull: the sessions of `keys` it held, handed off to `to`.
   * `confirmed` are earlier hand-offs the owner has stored: forgotten here first.
   */
  async handOff(
    ...[app, epoch, keys, to, confirmed = []]: HandOffArgs
  ): Promise<Result<StoredSession[]>> {
    await this.catchUp(app, epoch);
    return resultOf(() => {
      if (confirmed.length > 0) this.release(confirmed);
      const layout = this.current(app);
      if (layout === undefined) return [];
      const foreign = keys.find((key) => ownerOf(app, key, layout) !== to);
      if (layout.epoch > epoch || foreign !== undefined) {
        throw new MovedError(app, foreign ?? keys[0] ?? "", layout);
      }
      return this.#giveAway(keys.map((key) => [key, to]));
    });
  }

  /** A source forgets handed-off sessions that their owner confirmed. */
  release(sessions: { key: string; sid: string }[]): number {
    const store = this.#store;
    return store.transaction(() => {
      let released = 0;
      for (const { key, sid } of sessions) {
        if (moveOutRows.release(store, key, sid)) released++;
      }
      return released;
    });
  }

  /** The alarm's part: tell objects the layout (home), drain this source in bounded batches. */
  async onAlarm(): Promise<void> {
    const app = this.#app.current?.name;
    const record = this.#record.record;
    if (app === undefined || record === undefined) return;
    this.#record.stalled = false;
    this.#record.resting = false;
    try {
      if (record.pushTo.length > 0) await this.#push(app);
      await this.#drain(app);
    } catch (error) {
      this.#record.stalled = true;
      console.error("session move paused; will retry", describeError(error));
    }
  }

  /**
   * Hands off sessions, each to its owner: in one transaction, moves each from `sessions` to
   * `move_out` (where it stays until the owner confirms). A key already handed off to the same
   * owner is handed off again from `move_out`. Answers the sessions handed off.
   */
  #giveAway(asked: [key: string, to: string][]): StoredSession[] {
    const store = this.#store;
    return store.transaction(() => {
      const given: StoredSession[] = [];
      // `tag!` asks for every session of the tag (a user's: docs/DESIGN.md#users).
      const entries = asked.flatMap(([key, to]): [string, string][] =>
        key.endsWith("!") ? this.#tagged(key).map((k) => [k, to]) : [[key, to]],
      );
      for (const [key, to] of entries) {
        const session = store.load(key);
        if (session !== undefined) {
          store.remove(key);
          moveOutRows.add(store, session, to);
          given.push(session);
          this.#record.handedOff = true;
          this.#movedOut++;
          continue;
        }
        const row = moveOutRows.find(store, key);
        if (row !== undefined && row.target === to) given.push(JSON.parse(row.session));
      }
      return given;
    });
  }

  /** The keys of `tag!…` stored here or handed off and not yet confirmed. */
  #tagged(prefix: string): string[] {
    const store = this.#store;
    return [
      ...new Set([...store.keysWithPrefix(prefix), ...moveOutRows.keysWithPrefix(store, prefix)]),
    ];
  }

  /** Drains this source: scan, hand off, send, and report when done; bounded per alarm run. */
  async #drain(app: string): Promise<void> {
    const started = Date.now();
    for (let batch = 0; batch < DRAIN_BATCHES_PER_ALARM; batch++) {
      if (Date.now() - started >= DRAIN_RUN_MS) {
        this.#record.resting = true;
        return;
      }
      const record = this.#record.record as LayoutRecord;
      const source = this.#record.isSource(app, record.layout) && !record.reported;
      if (!source && !this.#record.handedOff) return;
      const scanned = source && !record.scanned ? this.#scan(app, record) : 0;
      const sent = this.#record.handedOff ? await this.#send(app) : 0;
      const now = this.#record.record as LayoutRecord;
      if (source && now.scanned && !this.#record.handedOff) {
        await this.#report(app, now);
        return;
      }
      if (scanned === 0 && sent === 0) {
        // Nothing moved this round: an owner refused or failed. Wait before trying again.
        this.#record.stalled = true;
        return;
      }
    }
  }

  /** Reads the next keys after the cursor and hands off those this object does not own. */
  #scan(app: string, record: LayoutRecord): number {
    const store = this.#store;
    const name = this.#record.name;
    const { layout } = record;
    return store.transaction(() => {
      const keys = store.keysAfter(record.cursor ?? "", SCAN_BATCH);
      const foreign = keys
        .map((key): [string, string] => [key, ownerOf(app, key, layout)])
        .filter(([, owner]) => owner !== name);
      this.#giveAway(foreign);
      this.#record.save({
        ...record,
        cursor: keys.at(-1) ?? record.cursor,
        scanned: keys.length < SCAN_BATCH,
      });
      return Math.max(keys.length, 1);
    });
  }

  /** Sends handed-off sessions to their owners (bounded); deletes the confirmed ones. */
  async #send(app: string): Promise<number> {
    const rows = moveOutRows.first(this.#store, SEND_ROWS);
    if (rows.length === 0) {
      this.#record.handedOff = false;
      return 0;
    }
    // One call per owner, a new one past SEND_BYTES.
    const calls: { target: string; sessions: StoredSession[]; bytes: number }[] = [];
    const open = new Map<string, (typeof calls)[number]>();
    for (const row of rows) {
      let call = open.get(row.target);
      if (call === undefined || call.bytes >= SEND_BYTES) {
        call = { target: row.target, sessions: [], bytes: 0 };
        calls.push(call);
        open.set(row.target, call);
      }
      call.sessions.push(JSON.parse(row.session));
      call.bytes += row.session.length;
    }
    const epoch = (this.#record.record as LayoutRecord).layout.epoch;
    const answers = await Promise.all(
      calls.map(async ({ target, sessions }) => {
        const result = await this.object(target).receive(app, epoch, sessions);
        if (!result.ok) {
          console.error("session move: an owner refused sessions", result.error.code);
          return [];
        }
        const held = new Set(result.value);
        return sessions.filter((s) => held.has(s.key)).map(({ key, sid }) => ({ key, sid }));
      }),
    );
    const confirmed = answers.flat();
    this.release(confirmed);
    if (rows.length < SEND_ROWS && confirmed.length === rows.length) {
      this.#record.handedOff = false;
    }
    return confirmed.length;
  }

  async #report(app: string, record: LayoutRecord): Promise<void> {
    const name = this.#record.name as string;
    const epoch = record.layout.epoch;
    if (this.isHome(app)) {
      this.moveDone(app, epoch, name);
    } else {
      const result = await this.object(objectName(app)).moveDone(app, epoch, name);
      if (!result.ok) throw errorFromBody(result.error);
      this.adoptOrRefresh(app, parseLayout(result.value));
    }
    const after = this.#record.record as LayoutRecord;
    if (after.layout.epoch === epoch) this.#record.save({ ...after, reported: true });
  }
}

/** The app's object `name`, in `namespace` and the placement's jurisdiction. */
function objectIn(
  namespace: SessionObjectNamespace | undefined,
  name: string,
  placement: Placement,
): SessionObjectRpc {
  if (namespace === undefined) {
    throw new SessionError(
      "reshard_unavailable",
      "This Durable Object cannot reach the app's other objects: bind its namespace as SESSION_MANAGER or override sessionObjects().",
    );
  }
  const scoped =
    placement.jurisdiction !== undefined && namespace.jurisdiction !== undefined
      ? namespace.jurisdiction(placement.jurisdiction)
      : namespace;
  const options =
    placement.locationHint === undefined ? undefined : { locationHint: placement.locationHint };
  return scoped.getByName(name, options) as SessionObjectRpc;
}
