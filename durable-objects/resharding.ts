import { SessionError, WrongShardError } from "../src/errors.js";
import {
  cleanPlacement,
  initialLayout,
  type Layout,
  layoutObjects,
  MovedError,
  objectsOf,
  ownerOf,
  type Placement,
  parseLayout,
  sourceOf,
} from "../src/layout.js";
import { objectName } from "../src/names.js";
import type { StoredSession } from "../src/session-view.js";
import type { AppSettings } from "../src/settings.js";
import type { SessionObjectRpc } from "../src/wire.js";
import { errorBody, errorFromBody, type Result, resultOf } from "../src/wire.js";
import { layoutRow, moveInRows, moveOutRows } from "./rows.js";
import type { SqlStore } from "./sql-store.js";

/** Keys a drain batch reads from `sessions` (in key order, after its cursor). */
export const SCAN_BATCH = 200;
/** Handed-off sessions sent to their owners per drain batch, at most. */
const SEND_ROWS = 200;
/** Bytes of session JSON in one `receive` call, at most (at least one session per call). */
const SEND_BYTES = 1_000_000;
/** Drain batches one alarm run works through at most before it yields and re-arms. */
const DRAIN_BATCHES_PER_ALARM = 25;
/**
 * How long one alarm run of the drain works (ms), and how long it then rests before the next:
 * the drain takes at most about half of a source's time, so its own traffic (pulls of the keys
 * it still holds, the keys it keeps) goes on at a steady pace.
 */
const DRAIN_RUN_MS = 200;
const DRAIN_REST_MS = 200;
/** How long work that failed (a push, a send, a report) waits before the alarm retries it. */
const RETRY_MS = 2_000;
/** Keys remembered as already pulled during a move (memory only; forgetting costs a call). */
const PULLED_MEMORY = 50_000;

/** What the resharding needs of its Durable Object. */
export interface ReshardingHost {
  readonly store: SqlStore;
  /** This object's name (`ctx.id.name`); without one, keys are never redirected or moved. */
  readonly name: string | undefined;
  /** The jurisdiction this object lives in (`ctx.id.jurisdiction`). */
  readonly jurisdiction: string | undefined;
  /** The app this object holds, once known. */
  app(): { name: string; settings: AppSettings } | undefined;
  /** The app's object `name`, created with `placement`. */
  object(name: string, placement: Placement): SessionObjectRpc;
  /** Seconds since the epoch (the object's clock). */
  now(): number;
  waitUntil(promise: Promise<unknown>): void;
  /** Sets the alarm again (it asks `due()`). */
  arm(): void;
}

/**
 * This object's layout and its move state, stored as one row. `drained` and `pushTo` are the
 * home object's: the sources that reported, and the objects not yet told the layout.
 */
interface LayoutRecord {
  layout: Layout;
  /** The last key the drain scanned (`null` before the first batch). */
  cursor: string | null;
  /** The drain has read every key of this object. */
  scanned: boolean;
  /** The home object knows this source is drained. */
  reported: boolean;
  drained: string[];
  pushTo: string[];
}

/**
 * The resharding protocol on the side of one Durable Object (docs/DESIGN.md#resharding): its layout,
 * the redirection of keys it does not own, the pull of a key from its source on first access,
 * the hand-off (copy to `move_out`, then delete when the owner confirms), the background drain
 * in bounded batches and, in the home object, the layouts themselves.
 */
export class Resharding {
  readonly #host: ReshardingHost;
  #record: LayoutRecord | undefined;
  /** Keys of the current move already pulled (or found absent at their source). */
  #pulled = new Set<string>();
  readonly #pulling = new Map<string, Promise<void>>();
  /** Per source: keys waiting for the next hand-off call (one call in flight per source). */
  readonly #waiting = new Map<string, PullBatch>();
  readonly #inFlight = new Set<string>();
  /** Per source: hand-offs stored here and not yet confirmed (sent with the next call). */
  readonly #unconfirmed = new Map<string, { key: string; sid: string }[]>();
  #refreshing: Promise<void> | undefined;
  #pushing: Promise<void> | undefined;
  /** `move_out` has rows (as far as this object knows; checked on start). */
  #handedOff: boolean;
  /** The last push, send or report failed: the alarm retries after a pause. */
  #stalled = false;
  /** The last drain run used up its time: the next one starts after a rest. */
  #resting = false;
  /** Sessions handed off and taken in since the object started. */
  readonly moved = { out: 0, in: 0 };

  constructor(host: ReshardingHost) {
    this.#host = host;
    const body = layoutRow.load(host.store);
    this.#record = body === undefined ? undefined : (JSON.parse(body) as LayoutRecord);
    this.#handedOff = moveOutRows.any(host.store);
  }

  /** This object's layout of `app`, if it has one (the home object's is made from its settings). */
  current(app: string): Layout | undefined {
    const held = this.#host.app();
    if (held !== undefined && held.name !== app) return undefined;
    if (this.#record !== undefined) return this.#record.layout;
    if (held !== undefined && this.#isHome(app)) return initialLayout(held.settings.shards);
    return undefined;
  }

  /** Sessions taken in, handed off, and this object's layout, for `stats`. */
  stats(app: string): { layout?: Layout; moved: { out: number; in: number } } {
    const layout = this.current(app);
    return layout === undefined
      ? { moved: { ...this.moved } }
      : { layout, moved: { ...this.moved } };
  }

  /**
   * Runs a session operation on `keys` (the first is the session's key; `regenerate` adds the
   * new key) if this object owns them, after pulling them from their source during a move.
   * Otherwise answers `moved` (or `wrong_shard` for a second key). Synchronous in the steady
   * state; the ownership check and `run` always happen in one synchronous step.
   */
  guard<T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    run: () => Result<T> | Promise<Result<T>>,
  ): Result<T> | Promise<Result<T>> {
    const verdict = this.#check(app, keys, epoch);
    if (verdict === "run") return run();
    if (verdict instanceof SessionError) return { ok: false, error: errorBody(verdict) };
    return this.#guardSlowly(app, keys, epoch, run);
  }

  /**
   * The ownership check of `guard` alone, for a commit applied later than it arrived (group
   * commit): `run` when this object owns `keys` and holds them; an error (`moved`, or
   * `wrong_shard` for a second key); `slow` when it must learn a newer layout or pull first.
   */
  verdict(app: string, keys: string[], epoch: number | undefined): "run" | "slow" | SessionError {
    return this.#check(app, keys, epoch);
  }

  /** The home object's layout, stored with `placement` the first time it is asked for. */
  homeLayout(app: string, settings: AppSettings, placement: Placement = {}): Layout {
    if (!this.#isHome(app)) {
      throw new SessionError(
        "not_home",
        400,
        `Object ${this.#host.name} is a shard of app "${app}": ask its home object (${objectName(app)}) for the layout.`,
      );
    }
    if (this.#record === undefined) {
      const layout = initialLayout(settings.shards, {
        jurisdiction: this.#host.jurisdiction,
        locationHint: placement.locationHint,
      });
      this.#save(fresh(layout));
    }
    return (this.#record as LayoutRecord).layout;
  }

  /**
   * The home object, in the transaction that stores `next` settings: starts a move to
   * `next.shards` if none is under way (else the move that follows goes there).
   */
  retarget(app: string, before: AppSettings, next: AppSettings): void {
    if (!this.#isHome(app)) return;
    const record = this.#record;
    const layout = record?.layout ?? initialLayout(before.shards, this.#placement());
    if (layout.from !== null || next.shards === layout.shards) {
      // Nothing to move now; during a move, the next one goes to `next.shards` when it ends.
      if (record === undefined) this.#save(fresh(layout));
      return;
    }
    if (this.#host.name === undefined) {
      throw new SessionError(
        "reshard_unavailable",
        409,
        `App "${app}" lives in an object without a name, so its sessions cannot move: create its objects with getByName().`,
      );
    }
    this.#begin(app, {
      ...layout,
      epoch: layout.epoch + 1,
      shards: next.shards,
      from: layout.shards,
    });
  }

  /** Takes `layout` if it is newer than this object's; returns whether it did. */
  adopt(layout: Layout): boolean {
    const current = this.#record?.layout;
    if (current !== undefined && layout.epoch <= current.epoch) return false;
    const record = this.#record ?? fresh(layout);
    // A layout newer than the one of a move means that move has ended: every source confirmed
    // every hand-off, so the ledger of sessions taken in is no longer needed.
    if (current !== undefined) moveInRows.clear(this.#host.store);
    this.#save({ ...record, layout, cursor: null, scanned: false, reported: false });
    this.#pulled = new Set();
    this.#host.arm();
    return true;
  }

  /**
   * A source's answer to an owner's pull: the sessions of `keys` it held, handed off to `to`.
   * `confirmed` are earlier hand-offs the owner has stored: forgotten here first.
   */
  async handOff(
    app: string,
    epoch: number,
    keys: string[],
    to: string,
    confirmed: { key: string; sid: string }[] = [],
  ): Promise<Result<StoredSession[]>> {
    await this.#catchUp(app, epoch);
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

  /** An owner takes in sessions pushed by a source's drain; answers the keys it holds now. */
  async receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    await this.#catchUp(app, epoch);
    return resultOf(() => {
      const layout = this.current(app);
      if (layout === undefined) throw new SessionError("unavailable", 503, "No layout yet; retry.");
      return this.#takeIn(app, layout, sessions);
    });
  }

  /** A source forgets handed-off sessions that their owner confirmed. */
  release(sessions: { key: string; sid: string }[]): number {
    const store = this.#host.store;
    return store.transaction(() => {
      let released = 0;
      for (const { key, sid } of sessions) {
        if (moveOutRows.release(store, key, sid)) released++;
      }
      return released;
    });
  }

  /** The home object: source `name` is drained. The last one ends the move. */
  moveDone(app: string, epoch: number, name: string): Layout {
    const record = this.#record;
    if (!this.#isHome(app) || record === undefined) {
      throw new SessionError("not_home", 400, `Report the end of a move to ${objectName(app)}.`);
    }
    const { layout } = record;
    if (layout.epoch !== epoch || layout.from === null) return layout;
    const drained = record.drained.includes(name) ? record.drained : [...record.drained, name];
    if (!objectsOf(app, layout.from).every((source) => drained.includes(source))) {
      this.#save({ ...record, drained });
      return layout;
    }
    const target = this.#host.app()?.settings.shards ?? layout.shards;
    const next: Layout =
      target === layout.shards
        ? { ...layout, epoch: layout.epoch + 1, from: null }
        : { ...layout, epoch: layout.epoch + 1, shards: target, from: layout.shards };
    this.#begin(app, next, layoutObjects(app, layout));
    return next;
  }

  /** When this object has move work: ms since the epoch, or `Infinity`. */
  due(): number {
    const record = this.#record;
    if (record === undefined) return Number.POSITIVE_INFINITY;
    const app = this.#host.app()?.name;
    const work =
      record.pushTo.length > 0 ||
      this.#handedOff ||
      (app !== undefined && this.#isSource(app, record.layout) && !record.reported);
    if (!work) return Number.POSITIVE_INFINITY;
    const wait = this.#stalled ? RETRY_MS : this.#resting ? DRAIN_REST_MS : 0;
    return this.#host.now() * 1000 + wait;
  }

  /** The alarm's part: tell objects the layout (home), drain this source in bounded batches. */
  async onAlarm(): Promise<void> {
    const app = this.#host.app()?.name;
    const record = this.#record;
    if (app === undefined || record === undefined) return;
    this.#stalled = false;
    this.#resting = false;
    try {
      if (record.pushTo.length > 0) await this.push(app);
      await this.#drain(app);
    } catch (error) {
      this.#stalled = true;
      console.error("session move paused; will retry", errorName(error));
    }
  }

  /** The home object tells every object in `pushTo` the app's settings and layout. */
  push(app: string): Promise<void> {
    this.#pushing ??= this.#push(app).finally(() => {
      this.#pushing = undefined;
    });
    return this.#pushing;
  }

  async #push(app: string): Promise<void> {
    const record = this.#record;
    const settings = this.#host.app()?.settings;
    if (record === undefined || settings === undefined) return;
    const { layout } = record;
    const names = [...record.pushTo];
    const told = await Promise.all(
      names.map(async (name) => {
        try {
          return (await this.#object(name).adopt(app, settings, layout)).ok;
        } catch {
          return false;
        }
      }),
    );
    const after = this.#record;
    if (after === undefined || after.layout.epoch !== layout.epoch) return;
    const done = new Set(names.filter((_, i) => told[i]));
    this.#save({ ...after, pushTo: after.pushTo.filter((name) => !done.has(name)) });
    if (done.size < names.length) {
      this.#stalled = true;
      this.#host.arm();
    }
  }

  // --- Owner side ------------------------------------------------------------------------------

  /** `run`: owned and present (or nothing to pull); an error; or `slow`: learn or pull first. */
  #check(app: string, keys: string[], epoch: number | undefined): "run" | "slow" | SessionError {
    const name = this.#host.name;
    if (name === undefined) return "run";
    const layout = this.current(app);
    if (
      epoch !== undefined &&
      (layout === undefined || epoch > layout.epoch) &&
      !this.#isHome(app)
    ) {
      return "slow";
    }
    if (layout === undefined) return "run";
    const [first = "", ...others] = keys;
    if (ownerOf(app, first, layout) !== name) return new MovedError(app, first, layout);
    for (const other of others) {
      if (ownerOf(app, other, layout) !== name) {
        return new WrongShardError(app, first, other, layout.shards);
      }
    }
    if (layout.from === null) return "run";
    return keys.some((key) => this.#mustPull(app, key, layout, name)) ? "slow" : "run";
  }

  #mustPull(app: string, key: string, layout: Layout, name: string): boolean {
    return (
      sourceOf(app, key, layout) !== name &&
      !this.#pulled.has(key) &&
      this.#host.store.load(key) === undefined
    );
  }

  async #guardSlowly<T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    run: () => Result<T> | Promise<Result<T>>,
  ): Promise<Result<T>> {
    if (epoch !== undefined) await this.#catchUp(app, epoch);
    for (let round = 0; round < 4; round++) {
      const verdict = this.#check(app, keys, undefined);
      if (verdict === "run") return run();
      if (verdict instanceof SessionError) return { ok: false, error: errorBody(verdict) };
      await this.#pull(app, keys, this.current(app) as Layout);
    }
    return {
      ok: false,
      error: errorBody(
        new SessionError("unavailable", 503, "The app's layout is changing; retry the request."),
      ),
    };
  }

  /**
   * Pulls `keys` from their sources; a key already being pulled is waited for, not pulled twice.
   * One hand-off call per source is in flight at a time: keys asked for meanwhile go together in
   * the next call (so a busy owner makes few, larger calls).
   */
  async #pull(app: string, keys: string[], layout: Layout): Promise<void> {
    const name = this.#host.name as string;
    const waits: Promise<void>[] = [];
    const sources = new Set<string>();
    for (const key of keys) {
      if (!this.#mustPull(app, key, layout, name)) continue;
      const under = this.#pulling.get(key);
      if (under !== undefined) {
        waits.push(under);
        continue;
      }
      const source = sourceOf(app, key, layout) as string;
      let batch = this.#waiting.get(source);
      if (batch === undefined) {
        batch = pullBatch();
        this.#waiting.set(source, batch);
      }
      batch.keys.add(key);
      this.#pulling.set(key, batch.done);
      waits.push(batch.done);
      sources.add(source);
    }
    for (const source of sources) this.#nextPull(app, source, layout);
    await Promise.all(waits);
  }

  /** Starts the waiting batch of `source` unless a call to it is in flight. */
  #nextPull(app: string, source: string, layout: Layout): void {
    if (this.#inFlight.has(source)) return;
    const batch = this.#waiting.get(source);
    if (batch === undefined) {
      this.#confirm(app, source);
      return;
    }
    this.#waiting.delete(source);
    this.#inFlight.add(source);
    this.#pullFrom(app, source, [...batch.keys], layout)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        for (const key of batch.keys) this.#pulling.delete(key);
        this.#inFlight.delete(source);
        this.#nextPull(app, source, this.current(app) ?? layout);
      });
  }

  async #pullFrom(app: string, source: string, keys: string[], layout: Layout): Promise<void> {
    const name = this.#host.name as string;
    const confirmed = this.#unconfirmed.get(source) ?? [];
    this.#unconfirmed.delete(source);
    const result = await this.#object(source).handOff(app, layout.epoch, keys, name, confirmed);
    if (!result.ok) {
      // The source knows a newer layout: take it, and the caller checks again.
      if (result.error.code === "moved" && result.error.layout !== undefined) {
        this.#adoptOrRefresh(app, parseLayout(result.error.layout));
        return;
      }
      throw errorFromBody(result.error);
    }
    const current = this.current(app);
    const taken = current === undefined ? [] : this.#takeIn(app, current, result.value);
    if (this.current(app)?.epoch === layout.epoch) this.#remember(keys);
    if (taken.length === 0) return;
    // The source forgets its copies when told (with the next call, or alone when none follows);
    // if that is lost, its drain sends them again and this object confirms them from its ledger.
    const stored = new Set(taken);
    const pending = this.#unconfirmed.get(source) ?? [];
    for (const { key, sid } of result.value) if (stored.has(key)) pending.push({ key, sid });
    this.#unconfirmed.set(source, pending);
  }

  /** Tells `source` which hand-offs this object stored, when no pull to it follows. */
  #confirm(app: string, source: string): void {
    const confirmed = this.#unconfirmed.get(source);
    if (confirmed === undefined || confirmed.length === 0) return;
    this.#unconfirmed.delete(source);
    this.#host.waitUntil(
      this.#object(source)
        .release(app, confirmed)
        .catch(() => undefined),
    );
  }

  /**
   * Stores sessions handed off to this object, unless its ledger shows it took them in already:
   * a late copy never overwrites a session that changed, ended or began again here. One
   * transaction. Answers the keys this object holds (or held) as handed off.
   */
  #takeIn(app: string, layout: Layout, sessions: StoredSession[]): string[] {
    const name = this.#host.name;
    const store = this.#host.store;
    const held: string[] = [];
    store.transaction(() => {
      for (const session of sessions) {
        if (!isStoredSession(session) || ownerOf(app, session.key, layout) !== name) continue;
        if (moveInRows.has(store, session.key, session.sid)) {
          held.push(session.key);
          continue;
        }
        const here = store.load(session.key);
        if (here !== undefined) {
          // Cannot happen under the protocol (a key absent at its source never comes back to
          // it): keep both copies where they are and say so, rather than lose either.
          console.error("session move: a handed-off session meets another at its key; kept both");
          continue;
        }
        store.save(session);
        moveInRows.add(store, session.key, session.sid);
        held.push(session.key);
        this.moved.in++;
      }
    });
    this.#host.arm();
    return held;
  }

  #remember(keys: string[]): void {
    if (this.#pulled.size + keys.length > PULLED_MEMORY) this.#pulled = new Set();
    for (const key of keys) this.#pulled.add(key);
  }

  // --- Source side -----------------------------------------------------------------------------

  /**
   * Hands off sessions, each to its owner: in one transaction, moves each from `sessions` to
   * `move_out` (where it stays until the owner confirms). A key already handed off to the same
   * owner is handed off again from `move_out`. Answers the sessions handed off.
   */
  #giveAway(entries: [key: string, to: string][]): StoredSession[] {
    const store = this.#host.store;
    return store.transaction(() => {
      const given: StoredSession[] = [];
      for (const [key, to] of entries) {
        const session = store.load(key);
        if (session !== undefined) {
          store.remove(key);
          moveOutRows.add(store, session, to);
          given.push(session);
          this.#handedOff = true;
          this.moved.out++;
          continue;
        }
        const row = moveOutRows.find(store, key);
        if (row !== undefined && row.target === to) given.push(JSON.parse(row.session));
      }
      return given;
    });
  }

  /** Drains this source: scan, hand off, send, and report when done; bounded per alarm run. */
  async #drain(app: string): Promise<void> {
    const started = Date.now();
    for (let batch = 0; batch < DRAIN_BATCHES_PER_ALARM; batch++) {
      if (Date.now() - started >= DRAIN_RUN_MS) {
        this.#resting = true;
        return;
      }
      const record = this.#record as LayoutRecord;
      const source = this.#isSource(app, record.layout) && !record.reported;
      if (!source && !this.#handedOff) return;
      const scanned = source && !record.scanned ? this.#scan(app, record) : 0;
      const sent = this.#handedOff ? await this.#send(app) : 0;
      const now = this.#record as LayoutRecord;
      if (source && now.scanned && !this.#handedOff) {
        await this.#report(app, now);
        return;
      }
      if (scanned === 0 && sent === 0) {
        // Nothing moved this round: an owner refused or failed. Wait before trying again.
        this.#stalled = true;
        return;
      }
    }
  }

  /** Reads the next keys after the cursor and hands off those this object does not own. */
  #scan(app: string, record: LayoutRecord): number {
    const store = this.#host.store;
    const name = this.#host.name;
    const { layout } = record;
    return store.transaction(() => {
      const keys = store.keysAfter(record.cursor ?? "", SCAN_BATCH);
      const foreign = keys
        .map((key): [string, string] => [key, ownerOf(app, key, layout)])
        .filter(([, owner]) => owner !== name);
      this.#giveAway(foreign);
      this.#save({
        ...record,
        cursor: keys.at(-1) ?? record.cursor,
        scanned: keys.length < SCAN_BATCH,
      });
      return Math.max(keys.length, 1);
    });
  }

  /** Sends handed-off sessions to their owners (bounded); deletes the confirmed ones. */
  async #send(app: string): Promise<number> {
    const store = this.#host.store;
    const rows = moveOutRows.first(store, SEND_ROWS);
    if (rows.length === 0) {
      this.#handedOff = false;
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
    const epoch = (this.#record as LayoutRecord).layout.epoch;
    const answers = await Promise.all(
      calls.map(async ({ target, sessions }) => {
        const result = await this.#object(target).receive(app, epoch, sessions);
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
    if (rows.length < SEND_ROWS && confirmed.length === rows.length) this.#handedOff = false;
    return confirmed.length;
  }

  async #report(app: string, record: LayoutRecord): Promise<void> {
    const name = this.#host.name as string;
    const epoch = record.layout.epoch;
    if (this.#isHome(app)) {
      this.moveDone(app, epoch, name);
    } else {
      const result = await this.#object(objectName(app)).moveDone(app, epoch, name);
      if (!result.ok) throw errorFromBody(result.error);
      this.#adoptOrRefresh(app, parseLayout(result.value));
    }
    const after = this.#record as LayoutRecord;
    if (after.layout.epoch === epoch) this.#save({ ...after, reported: true });
  }

  // --- Layouts ---------------------------------------------------------------------------------

  /** The home object starts `next`; every object of it (and of `also`) is told. */
  #begin(app: string, next: Layout, also: string[] = []): void {
    const record = this.#record ?? fresh(next);
    const home = objectName(app);
    const pushTo = [...new Set([...record.pushTo, ...also, ...layoutObjects(app, next)])].filter(
      (name) => name !== home,
    );
    if (this.#record !== undefined) moveInRows.clear(this.#host.store);
    this.#save({
      ...record,
      layout: next,
      cursor: null,
      scanned: false,
      reported: false,
      drained: [],
      pushTo,
    });
    this.#pulled = new Set();
    this.#host.arm();
    this.#host.waitUntil(this.push(app).catch(() => undefined));
  }

  /** Learns a newer layout from the home object when `epoch` is ahead of this object's. */
  async #catchUp(app: string, epoch: number): Promise<void> {
    const layout = this.current(app);
    if (this.#isHome(app) || (layout !== undefined && epoch <= layout.epoch)) return;
    this.#refreshing ??= (async () => {
      try {
        const result = await this.#object(objectName(app)).layout(app);
        if (result.ok) this.adopt(parseLayout(result.value.layout));
      } finally {
        this.#refreshing = undefined;
      }
    })();
    await this.#refreshing;
  }

  #adoptOrRefresh(app: string, layout: Layout): void {
    if (!this.#isHome(app)) this.adopt(layout);
  }

  #isHome(app: string): boolean {
    return this.#host.name === objectName(app);
  }

  #isSource(app: string, layout: Layout): boolean {
    const name = this.#host.name;
    return layout.from !== null && name !== undefined && objectsOf(app, layout.from).includes(name);
  }

  #placement(): Placement {
    return (
      this.#record?.layout.placement ?? cleanPlacement({ jurisdiction: this.#host.jurisdiction })
    );
  }

  #object(name: string): SessionObjectRpc {
    return this.#host.object(name, this.#placement());
  }

  #save(record: LayoutRecord): void {
    layoutRow.save(this.#host.store, JSON.stringify(record));
    this.#record = record;
  }
}

/** Keys to pull from one source in one call, and the promise their callers wait on. */
interface PullBatch {
  keys: Set<string>;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function pullBatch(): PullBatch {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers await it; a rejection nobody awaited any more must not be reported as unhandled.
  done.catch(() => undefined);
  return { keys: new Set(), done, resolve, reject };
}

function fresh(layout: Layout): LayoutRecord {
  return { layout, cursor: null, scanned: false, reported: false, drained: [], pushTo: [] };
}

function isStoredSession(value: unknown): value is StoredSession {
  const s = value as Partial<StoredSession> | null;
  return (
    s !== null &&
    typeof s === "object" &&
    typeof s.key === "string" &&
    typeof s.sid === "string" &&
    typeof s.version === "number" &&
    typeof s.sliceEnd === "number" &&
    typeof s.data === "object" &&
    typeof s.keyVersions === "object"
  );
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
