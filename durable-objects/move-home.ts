import { SessionError } from "../src/errors.js";
import {
  initialLayout,
  type Layout,
  layoutObjects,
  objectsOf,
  type Placement,
} from "../src/layout.js";
import { objectName } from "../src/names.js";
import type { AppSettings } from "../src/settings.js";
import {
  fresh,
  type LayoutRecord,
  type ReshardingHost,
  type StoredLayout,
} from "./layout-record.js";
import { moveInRows } from "./rows.js";

/**
 * The home object's side of resharding (docs/DESIGN.md#resharding): it holds the app's layouts,
 * starts a move when the shard count changes, ends it when every source reported, and tells
 * every object the layout.
 */
export class MoveHome {
  readonly #layout: StoredLayout;
  readonly #host: ReshardingHost;
  #pushing: Promise<void> | undefined;

  constructor(layout: StoredLayout) {
    this.#layout = layout;
    this.#host = layout.host;
  }

  /** The home object's layout, stored with `placement` the first time it is asked for. */
  homeLayout(app: string, settings: AppSettings, placement: Placement): Layout {
    if (!this.#layout.isHome(app)) {
      throw new SessionError(
        "not_home",
        400,
        `Object ${this.#host.name} is a shard of app "${app}": ask its home object (${objectName(app)}) for the layout.`,
      );
    }
    if (this.#layout.record === undefined) {
      const layout = initialLayout(settings.shards, {
        jurisdiction: this.#host.jurisdiction,
        locationHint: placement.locationHint,
      });
      this.#layout.save(fresh(layout));
    }
    return (this.#layout.record as LayoutRecord).layout;
  }

  /**
   * The home object, in the transaction that stores `next` settings: starts a move to
   * `next.shards` if none is under way (else the move that follows goes there).
   */
  retarget(app: string, before: AppSettings, next: AppSettings): void {
    if (!this.#layout.isHome(app)) return;
    const record = this.#layout.record;
    const layout = record?.layout ?? initialLayout(before.shards, this.#layout.placement());
    if (layout.from !== null || next.shards === layout.shards) {
      // Nothing to move now; during a move, the next one goes to `next.shards` when it ends.
      if (record === undefined) this.#layout.save(fresh(layout));
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

  /** The home object: source `name` is drained. The last one ends the move. */
  moveDone(app: string, epoch: number, name: string): Layout {
    const record = this.#layout.record;
    if (!this.#layout.isHome(app) || record === undefined) {
      throw new SessionError("not_home", 400, `Report the end of a move to ${objectName(app)}.`);
    }
    const { layout } = record;
    if (layout.epoch !== epoch || layout.from === null) return layout;
    const drained = record.drained.includes(name) ? record.drained : [...record.drained, name];
    if (!objectsOf(app, layout.from).every((source) => drained.includes(source))) {
      this.#layout.save({ ...record, drained });
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

  /** The home object tells every object in `pushTo` the app's settings and layout. */
  push(app: string): Promise<void> {
    this.#pushing ??= this.#push(app).finally(() => {
      this.#pushing = undefined;
    });
    return this.#pushing;
  }

  async #push(app: string): Promise<void> {
    const record = this.#layout.record;
    const settings = this.#host.app()?.settings;
    if (record === undefined || settings === undefined) return;
    const { layout } = record;
    const names = [...record.pushTo];
    const told = await Promise.all(
      names.map(async (name) => {
        try {
          return (await this.#layout.object(name).adopt(app, settings, layout)).ok;
        } catch {
          return false;
        }
      }),
    );
    const after = this.#layout.record;
    if (after === undefined || after.layout.epoch !== layout.epoch) return;
    const done = new Set(names.filter((_, i) => told[i]));
    this.#layout.save({ ...after, pushTo: after.pushTo.filter((name) => !done.has(name)) });
    if (done.size < names.length) {
      this.#layout.stalled = true;
      this.#host.arm();
    }
  }

  /** The home object starts `next`; every object of it (and of `also`) is told. */
  #begin(app: string, next: Layout, also: string[] = []): void {
    const record = this.#layout.record ?? fresh(next);
    const home = objectName(app);
    const pushTo = [...new Set([...record.pushTo, ...also, ...layoutObjects(app, next)])].filter(
      (name) => name !== home,
    );
    if (this.#layout.record !== undefined) moveInRows.clear(this.#host.store);
    this.#layout.save({
      ...record,
      layout: next,
      cursor: null,
      scanned: false,
      reported: false,
      drained: [],
      pushTo,
    });
    this.#layout.forgetPulled();
    this.#host.arm();
    this.#host.waitUntil(this.push(app).catch(() => undefined));
  }
}
