import {
  cleanPlacement,
  initialLayout,
  type Layout,
  objectsOf,
  type Placement,
  parseLayout,
} from "../src/layout.js";
import { objectName } from "../src/names.js";
import type { SessionObjectRpc } from "../src/object-rpc.js";
import type { AppSettings } from "../src/settings.js";
import { layoutRow, moveInRows } from "./rows.js";
import type { SqlStore } from "./sql-store.js";

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
}

export function fresh(layout: Layout): LayoutRecord {
  return { layout, cursor: null, scanned: false, reported: false, drained: [], pushTo: [] };
}

/**
 * This object's layout record (docs/DESIGN.md#resharding): loaded on start, saved with every
 * change, replaced by a newer layout learned from the home object. It also holds what the owner,
 * source and home sides of a move share: the keys pulled during the current move, and whether
 * move work failed and waits for the alarm's retry.
 */
export class StoredLayout {
  readonly host: ReshardingHost;
  #record: LayoutRecord | undefined;
  /** Keys of the current move already pulled (or found absent at their source). */
  #pulled = new Set<string>();
  #refreshing: Promise<void> | undefined;
  /** The last push, send or report failed: the alarm retries after a pause. */
  stalled = false;

  constructor(host: ReshardingHost) {
    this.host = host;
    const body = layoutRow.load(host.store);
    this.#record = body === undefined ? undefined : (JSON.parse(body) as LayoutRecord);
  }

  /** The stored record, if this object has one. */
  get record(): LayoutRecord | undefined {
    return this.#record;
  }

  /** This object's layout of `app`, if it has one (the home object's is made from its settings). */
  current(app: string): Layout | undefined {
    const held = this.host.app();
    if (held !== undefined && held.name !== app) return undefined;
    if (this.#record !== undefined) return this.#record.layout;
    if (held !== undefined && this.isHome(app)) return initialLayout(held.settings.shards);
    return undefined;
  }

  /** Takes `layout` if it is newer than this object's; returns whether it did. */
  adopt(layout: Layout): boolean {
    const current = this.#record?.layout;
    if (current !== undefined && layout.epoch <= current.epoch) return false;
    const record = this.#record ?? fresh(layout);
    // A layout newer than the one of a move means that move has ended: every source confirmed
    // every hand-off, so the ledger of sessions taken in is no longer needed.
    if (current !== undefined) moveInRows.clear(this.host.store);
    this.save({ ...record, layout, cursor: null, scanned: false, reported: false });
    this.#pulled = new Set();
    this.host.arm();
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

  /** A new move begins: the keys pulled during the last one are forgotten. */
  forgetPulled(): void {
    this.#pulled = new Set();
  }

  isHome(app: string): boolean {
    return this.host.name === objectName(app);
  }

  isSource(app: string, layout: Layout): boolean {
    const name = this.host.name;
    return layout.from !== null && name !== undefined && objectsOf(app, layout.from).includes(name);
  }

  placement(): Placement {
    return (
      this.#record?.layout.placement ?? cleanPlacement({ jurisdiction: this.host.jurisdiction })
    );
  }

  object(name: string): SessionObjectRpc {
    return this.host.object(name, this.placement());
  }

  save(record: LayoutRecord): void {
    layoutRow.save(this.host.store, JSON.stringify(record));
    this.#record = record;
  }
}
