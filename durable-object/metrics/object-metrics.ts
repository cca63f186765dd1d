import type { SessionEvent } from "../../src/core/events.js";
import {
  emptyHistogram,
  HISTOGRAM_BOUNDS,
  MetricsCounter,
  type ShardMetrics,
  type StoredCounts,
} from "../../src/core/metrics.js";
import { expiresAt } from "../../src/core/timeslice.js";
import { ownerOf } from "../../src/routing/layout.js";
import type { OpenApp } from "../held-app.js";
import type { StoredLayout } from "../resharding/layout-record.js";
import { metricsRow, moveOutRows, outboxRows } from "../storage/rows.js";
import type { SqlStore } from "../storage/sql-store.js";

/** How often counts made in memory are saved, at most (seconds): what a crash can lose. */
export const METRICS_SAVE_INTERVAL = 60;

/**
 * One object's figures (docs/DESIGN.md#metrics): the counts, kept in memory as sessions begin and
 * end and calls are answered, saved by the alarm at most once a `METRICS_SAVE_INTERVAL` (never in
 * a read's or a commit's transaction, so neither writes a row more); and the gauges, read from
 * storage when asked.
 */
export class ObjectMetrics {
  readonly #store: SqlStore;
  readonly #counter: MetricsCounter;
  /** Whether this object counts (`SessionManagerObject.keepsFigures`). */
  readonly #enabled: boolean;
  /** When the counts were last saved (seconds); until the first save, the first count's time. */
  #savedAt: number | undefined;
  /** Called when a count is made while every count was saved (the alarm then keeps a moment). */
  #onUnsaved: () => void = () => {};

  constructor(store: SqlStore, enabled = true) {
    this.#store = store;
    this.#enabled = enabled;
    const body = metricsRow.load(store);
    this.#counter = new MetricsCounter(
      body === undefined ? undefined : (JSON.parse(body) as StoredCounts),
    );
  }

  /** `fn` is called when a count is made while every count was saved. */
  whenUnsaved(fn: () => void): void {
    this.#onUnsaved = fn;
  }

  /** A session began or ended (the change's transaction is done). */
  countEvent(event: SessionEvent, now: number): void {
    this.#counted(now, () => this.#counter.countEvent(event, now));
  }

  /** Commits were stored. */
  countCommits(n: number, now: number): void {
    if (n > 0) this.#counted(now, () => this.#counter.countCommit(now, n));
  }

  /** A call was refused with `code`. */
  countRefusal(code: string, now: number): void {
    this.#counted(now, () => this.#counter.countRefusal(code, now));
  }

  #counted(now: number, count: () => void): void {
    if (!this.#enabled) return;
    // The counts loaded at start count as saved then: the first count after it waits a full interval.
    this.#savedAt ??= now;
    const saved = !this.#counter.unsaved;
    count();
    if (saved && this.#counter.unsaved) this.#onUnsaved();
  }

  /** When unsaved counts are due to be saved (ms), or `Infinity`: for the alarm. */
  saveDue(): number {
    if (!this.#counter.unsaved || this.#savedAt === undefined) return Number.POSITIVE_INFINITY;
    return (this.#savedAt + METRICS_SAVE_INTERVAL) * 1000;
  }

  /** Saves the counts when some are unsaved and `held`, the app, is stored here (one row). */
  save(held: OpenApp | undefined, now: number): void {
    if (!this.#counter.unsaved || held?.stored !== true) return;
    metricsRow.save(this.#store, JSON.stringify(this.#counter.take(now)));
    this.#savedAt = now;
  }

  /**
   * The figures of this object (`name`) now: its counts and the gauges read from storage, for
   * `held`, the app, under `layout`, the object's layout record.
   */
  read(name: string, held: OpenApp | undefined, layout: StoredLayout, now: number): ShardMetrics {
    const timeout = held?.settings.timeout ?? 0;
    const store = this.#store;
    // Live sessions have not expired: their slice ended less than `timeout` ago.
    const liveAfter = now - timeout;
    const idle = emptyHistogram();
    if (held?.stored === true) {
      // One pass over the index on slice_end: how many live sessions were last seen within each bound.
      const columns = HISTOGRAM_BOUNDS.map((_, i) => `SUM(slice_end >= ?${i + 2}) AS b${i}`).join(
        ", ",
      );
      const [row] = store.exec<Record<string, number | null>>(
        `SELECT COUNT(*) AS n, SUM(?1 - MIN(slice_end, ?1)) AS idle, ${columns} FROM sessions WHERE slice_end > ?${HISTOGRAM_BOUNDS.length + 2}`,
        now,
        ...HISTOGRAM_BOUNDS.map((bound) => now - bound),
        liveAfter,
      );
      const n = row?.n ?? 0;
      let below = 0;
      HISTOGRAM_BOUNDS.forEach((_, i) => {
        const within = row?.[`b${i}`] ?? 0;
        idle.counts[i] = within - below;
        below = within;
      });
      idle.counts[HISTOGRAM_BOUNDS.length] = n - below;
      idle.count = n;
      idle.sum = row?.idle ?? 0;
    }
    const earliest = store.earliestSliceEnd();
    const oldestExpiry = earliest === undefined ? undefined : expiresAt(earliest, timeout);
    const first = outboxRows.first(store, 1)[0];
    const oldestEvent =
      first === undefined ? undefined : (JSON.parse(first.body) as { at?: number }).at;
    return {
      shard: name,
      at: now,
      ...this.#counter.current(now),
      live: idle.count,
      idle,
      sweepLag: oldestExpiry !== undefined && oldestExpiry <= now ? now - oldestExpiry : 0,
      outbox: {
        backlog: first === undefined ? 0 : outboxRows.count(store),
        oldestAge: typeof oldestEvent === "number" ? Math.max(0, now - oldestEvent) : null,
      },
      moving: held === undefined ? 0 : this.#moving(held.name, name, layout),
    };
  }

  /** During a move away from this object: its sessions that belong elsewhere, and those in flight. */
  #moving(app: string, name: string, layout: StoredLayout): number {
    const record = layout.record;
    if (record === undefined || !layout.isSource(app, record.layout)) return 0;
    let left = 0;
    let cursor = "";
    for (;;) {
      const keys = this.#store.keysAfter(cursor, 1000);
      for (const key of keys) if (ownerOf(app, key, record.layout) !== name) left++;
      if (keys.length < 1000) break;
      cursor = keys.at(-1) as string;
    }
    return left + moveOutRows.count(this.#store);
  }
}
