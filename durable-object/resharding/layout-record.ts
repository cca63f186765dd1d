import { objectName } from "../../src/core/names.js";
import type { AppSettings } from "../../src/core/settings.js";
import {
  cleanPlacement,
  initialLayout,
  type Layout,
  objectsOf,
  type Placement,
} from "../../src/routing/layout.js";
import { layoutRow, moveOutRows } from "../storage/rows.js";
import type { SqlStore } from "../storage/sql-store.js";

/** How long one alarm run of a source's drain rests before the next (see `DRAIN_RUN_MS`). */
const DRAIN_REST_MS = 200;
/** How long work that failed (a push, a send, a report) waits before the alarm retries it. */
const RETRY_MS = 2_000;

/**
 * This object's layout and its move state, stored as one row. `drained` and `pushTo` are the
 * home object's: the sources that reported, and the objects not yet told the layout.
 */
export interface LayoutRecord {
  layout: Layout;
  /** The last key the drain scanned (`null` before the first batch). */
  cursor: string | null;
  /** The drain has read every key of this object. */
  scanned: boolean;
  /** The home object knows this source is drained. */
  reported: boolean;
  drained: string[];
  pushTo: string[];
  /**
   * The home object's: the most shards the app ever had. Objects of a shard count since left keep
   * the counts they made, which the app's figures add up (docs/DESIGN.md#metrics).
   */
  peak?: number;
}

export function fresh(layout: Layout): LayoutRecord {
  return { layout, cursor: null, scanned: false, reported: false, drained: [], pushTo: [] };
}

/**
 * This object's layout record and the state of its move (docs/DESIGN.md#resharding): the `layout`
 * row (loaded on start, saved with every change), whether sessions wait in `move_out`, and
 * whether move work rests or failed and waits for the alarm's retry. The resharding protocol
 * (resharding.ts, move-owner.ts) changes it.
 *
 * It is built before the held app and the alarm, which read it: the home object stores the app's
 * first layout in the transaction that first stores the app (`appStored`), and the alarm asks when
 * move work is due (`due`). The protocol needs both of those parts, so it is built after them,
 * and this record, which needs neither, is where the state they share lives.
 */
export class StoredLayout {
  readonly #store: SqlStore;
  /** This object's name (`ctx.id.name`); without one, keys are never redirected or moved. */
  readonly name: string | undefined;
  /** The jurisdiction this object lives in (`ctx.id.jurisdiction`). */
  readonly jurisdiction: string | undefined;
  #record: LayoutRecord | undefined;
  /** The placement the first router asked with, for an app not stored yet. */
  hint: Placement | undefined;
  /** `move_out` has rows (as far as this object knows; checked on start). */
  handedOff: boolean;
  /** The last drain run used up its time: the next one starts after a rest. */
  resting = false;
  /** The last push, send or report failed: the alarm retries after a pause. */
  stalled = false;

  constructor(store: SqlStore, name: string | undefined, jurisdiction: string | undefined) {
    this.#store = store;
    this.name = name;
    this.jurisdiction = jurisdiction;
    const body = layoutRow.load(store);
    this.#record = body === undefined ? undefined : (JSON.parse(body) as LayoutRecord);
    this.handedOff = moveOutRows.any(store);
  }

  /** The stored record, if this object has one. */
  /** The home object's: the most shards the app ever had, `layout` (the one in force) counted. */
  peak(layout: Layout | undefined): number {
    return Math.max(this.#record?.peak ?? 1, layout?.shards ?? 1, layout?.from ?? 1);
  }

  get record(): LayoutRecord | undefined {
    return this.#record;
  }

  save(record: LayoutRecord): void {
    layoutRow.save(this.#store, JSON.stringify(record));
    const before = this.#record;
    this.#record = record;
    // Inside a transaction that rolls back (a configure whose settings fail to store), the
    // record in memory goes back to the stored one with the row.
    this.#store.onRollback(() => {
      this.#record = before;
    });
  }

  isHome(app: string): boolean {
    return this.name === objectName(app);
  }

  isSource(app: string, layout: Layout): boolean {
    const name = this.name;
    return layout.from !== null && name !== undefined && objectsOf(app, layout.from).includes(name);
  }

  placement(): Placement {
    return this.#record?.layout.placement ?? cleanPlacement({ jurisdiction: this.jurisdiction });
  }

  /** The home object's layout, stored (with `placement`) the first time it is asked for. */
  homeLayout(settings: AppSettings, placement: Placement): Layout {
    if (this.#record === undefined) {
      const layout = initialLayout(settings.shards, {
        jurisdiction: this.jurisdiction,
        locationHint: placement.locationHint,
      });
      this.save(fresh(layout));
    }
    return (this.#record as LayoutRecord).layout;
  }

  /**
   * The app's row was stored for the first time, in the transaction that stored it: the home
   * object stores the app's first layout with it (placement from the router that asked first).
   */
  appStored(app: string, settings: AppSettings): void {
    if (this.isHome(app)) this.homeLayout(settings, this.hint ?? {});
  }

  /** When this object has move work (`app` held): ms since the epoch, or `Infinity`. */
  due(app: string | undefined, nowSeconds: number): number {
    const record = this.#record;
    if (record === undefined) return Number.POSITIVE_INFINITY;
    const work =
      record.pushTo.length > 0 ||
      this.handedOff ||
      (app !== undefined && this.isSource(app, record.layout) && !record.reported);
    if (!work) return Number.POSITIVE_INFINITY;
    const wait = this.stalled ? RETRY_MS : this.resting ? DRAIN_REST_MS : 0;
    return nowSeconds * 1000 + wait;
  }
}
