import { describeError } from "../src/errors.js";
import { MovedError, ownerOf, parseLayout } from "../src/layout.js";
import { objectName } from "../src/names.js";
import type { StoredSession } from "../src/session-view.js";
import { errorFromBody, type Result, resultOf } from "../src/wire.js";
import type { LayoutRecord, ReshardingHost, StoredLayout } from "./layout-record.js";
import type { MoveHome } from "./move-home.js";
import { moveOutRows } from "./rows.js";

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

/**
 * The source side of a move (docs/DESIGN.md#resharding): the hand-off (copy to `move_out`, then
 * delete when the owner confirms), and the alarm's part of a move: the home object's push of the
 * layout, then the background drain of this source in bounded batches.
 */
export class MoveSource {
  readonly #layout: StoredLayout;
  readonly #host: ReshardingHost;
  readonly #home: MoveHome;
  /** The count of sessions handed off (the resharding's `moved`). */
  readonly #moved: { out: number };
  /** `move_out` has rows (as far as this object knows; checked on start). */
  #handedOff: boolean;
  /** The last drain run used up its time: the next one starts after a rest. */
  #resting = false;

  constructor(layout: StoredLayout, home: MoveHome, moved: { out: number }) {
    this.#layout = layout;
    this.#host = layout.host;
    this.#home = home;
    this.#moved = moved;
    this.#handedOff = moveOutRows.any(layout.host.store);
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
    confirmed: { key: string; sid: string }[],
  ): Promise<Result<StoredSession[]>> {
    await this.#layout.catchUp(app, epoch);
    return resultOf(() => {
      if (confirmed.length > 0) this.release(confirmed);
      const layout = this.#layout.current(app);
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
    const store = this.#host.store;
    return store.transaction(() => {
      let released = 0;
      for (const { key, sid } of sessions) {
        if (moveOutRows.release(store, key, sid)) released++;
      }
      return released;
    });
  }

  /** When this object has move work: ms since the epoch, or `Infinity`. */
  due(): number {
    const record = this.#layout.record;
    if (record === undefined) return Number.POSITIVE_INFINITY;
    const app = this.#host.app()?.name;
    const work =
      record.pushTo.length > 0 ||
      this.#handedOff ||
      (app !== undefined && this.#layout.isSource(app, record.layout) && !record.reported);
    if (!work) return Number.POSITIVE_INFINITY;
    const wait = this.#layout.stalled ? RETRY_MS : this.#resting ? DRAIN_REST_MS : 0;
    return this.#host.now() * 1000 + wait;
  }

  /** The alarm's part: tell objects the layout (home), drain this source in bounded batches. */
  async onAlarm(): Promise<void> {
    const app = this.#host.app()?.name;
    const record = this.#layout.record;
    if (app === undefined || record === undefined) return;
    this.#layout.stalled = false;
    this.#resting = false;
    try {
      if (record.pushTo.length > 0) await this.#home.push(app);
      await this.#drain(app);
    } catch (error) {
      this.#layout.stalled = true;
      console.error("session move paused; will retry", describeError(error));
    }
  }

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
          this.#moved.out++;
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
      const record = this.#layout.record as LayoutRecord;
      const source = this.#layout.isSource(app, record.layout) && !record.reported;
      if (!source && !this.#handedOff) return;
      const scanned = source && !record.scanned ? this.#scan(app, record) : 0;
      const sent = this.#handedOff ? await this.#send(app) : 0;
      const now = this.#layout.record as LayoutRecord;
      if (source && now.scanned && !this.#handedOff) {
        await this.#report(app, now);
        return;
      }
      if (scanned === 0 && sent === 0) {
        // Nothing moved this round: an owner refused or failed. Wait before trying again.
        this.#layout.stalled = true;
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
      this.#layout.save({
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
    const epoch = (this.#layout.record as LayoutRecord).layout.epoch;
    const answers = await Promise.all(
      calls.map(async ({ target, sessions }) => {
        const result = await this.#layout.object(target).receive(app, epoch, sessions);
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
    if (this.#layout.isHome(app)) {
      this.#home.moveDone(app, epoch, name);
    } else {
      const result = await this.#layout.object(objectName(app)).moveDone(app, epoch, name);
      if (!result.ok) throw errorFromBody(result.error);
      this.#layout.adoptOrRefresh(app, parseLayout(result.value));
    }
    const after = this.#layout.record as LayoutRecord;
    if (after.layout.epoch === epoch) this.#layout.save({ ...after, reported: true });
  }
}
