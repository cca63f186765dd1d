import { DEFAULT_SWEEP_BATCH } from "../src/engine.js";
import { SessionError, SettingsMismatchError } from "../src/errors.js";
import type { SessionEvent } from "../src/events.js";
import { type Layout, parseLayout } from "../src/layout.js";
import { assertAppName } from "../src/names.js";
import type { SessionObjectNamespace } from "../src/router.js";
import {
  type AppSettings,
  differingSetting,
  parseAppSettings,
  resolveAppSettings,
} from "../src/settings.js";
import type { AppStats } from "../src/wire.js";
import { Alarm } from "./alarm.js";
import { SWEEP_BATCHES_PER_ALARM } from "./alarm-policy.js";
import { ChangeEvents } from "./change-events.js";
import { CommitPath } from "./commit-path.js";
import { HeldApp } from "./held-app.js";
import { StoredLayout } from "./layout-record.js";
import { MoveOwner } from "./move-owner.js";
import { Outbox, type SendBatch } from "./outbox.js";
import { Resharding } from "./resharding.js";
import { SessionOps } from "./session-ops.js";
import { SqlStore } from "./sql-store.js";

/** What the parts need of the object's class: its overridable hooks. */
export interface ObjectHooks {
  /** The object's clock (seconds). */
  now(): number;
  onEvent(event: SessionEvent): void | Promise<void>;
  /** Delivers events to the Queue; `undefined` when no Queue is bound (no event is kept). */
  sendEvents: SendBatch | undefined;
  /** The namespace of the app's other objects, if reachable. */
  objects(): SessionObjectNamespace | undefined;
}

/**
 * What a session manager object does behind its RPC surface (`SessionManagerObject`): its parts
 * wired together, the app's settings operations, stats, the home object's answer to a router and
 * one alarm run's work.
 */
export class ObjectCore {
  readonly store: SqlStore;
  readonly outbox: Outbox;
  readonly app: HeldApp;
  readonly alarm: Alarm;
  readonly events: ChangeEvents;
  readonly layoutRecord: StoredLayout;
  readonly resharding: Resharding;
  readonly owner: MoveOwner;
  readonly commits: CommitPath;
  readonly ops: SessionOps;
  readonly #ctx: DurableObjectState;

  constructor(ctx: DurableObjectState, hooks: ObjectHooks) {
    this.#ctx = ctx;
    const store = new SqlStore(ctx.storage);
    this.store = store;
    this.outbox = new Outbox(store, hooks.sendEvents);
    this.events = new ChangeEvents(
      this.outbox,
      (event) => hooks.onEvent(event),
      (promise) => ctx.waitUntil(promise),
    );
    this.layoutRecord = new StoredLayout(store, ctx.id.name, ctx.id.jurisdiction);
    this.alarm = new Alarm({
      storage: ctx.storage,
      outbox: this.outbox,
      nextExpiry: () => this.app.current?.engine.nextExpiry(),
      reshardDue: () => this.layoutRecord.due(this.app.current?.name, hooks.now()),
      waitUntil: (promise) => ctx.waitUntil(promise),
    });
    this.app = new HeldApp({
      store,
      name: ctx.id.name,
      emit: (settings, events) => this.events.add(settings, events),
      // The home object stores the app's first layout with it (placement from the router that
      // asked first), in the same transaction.
      firstStored: (name, settings) => this.layoutRecord.appStored(name, settings),
    });
    this.resharding = new Resharding(
      this.layoutRecord,
      store,
      this.app,
      this.alarm,
      () => hooks.objects(),
      (promise) => ctx.waitUntil(promise),
    );
    this.owner = new MoveOwner(this.resharding, ctx.id.name, store, this.alarm, (promise) =>
      ctx.waitUntil(promise),
    );
    this.commits = new CommitPath({
      store,
      app: this.app,
      resharding: this.resharding,
      owner: this.owner,
      alarm: this.alarm,
      events: this.events,
      now: () => hooks.now(),
      sync: () => ctx.storage.sync(),
    });
    this.ops = new SessionOps({
      app: this.app,
      alarm: this.alarm,
      events: this.events,
      resharding: this.resharding,
      owner: this.owner,
      commits: this.commits,
      now: () => hooks.now(),
    });
  }

  /** `SessionManagerRpc.open`. */
  open(app: string, settings: unknown): AppSettings {
    const given = parseAppSettings(settings);
    const current = this.app.stored(app, given);
    const differs = differingSetting(current.settings, given);
    if (differs !== undefined) {
      throw new SettingsMismatchError(app, differs, current.settings[differs], given[differs]);
    }
    return current.settings;
  }

  /** `SessionManagerRpc.configure`; in the home object a new shard count starts a move. */
  configure(app: string, settings: unknown): AppSettings {
    const given = parseAppSettings(settings);
    const current = this.app.stored(app, given);
    const next = resolveAppSettings({ ...current.settings, ...given });
    this.store.transaction(() => {
      this.resharding.retarget(app, current.settings, next);
      this.app.save(app, next);
    });
    this.alarm.arm();
    return next;
  }

  /** A shard takes the app's settings on first use, and a layout newer than its own. */
  adopt(app: string, settings: unknown, layout: unknown): AppSettings {
    const current = this.app.stored(app, parseAppSettings(settings));
    if (layout !== undefined && this.#ctx.id.name !== app) {
      this.resharding.adopt(parseLayout(layout));
    }
    return current.settings;
  }

  /** `SessionManagerRpc.stats`, for this object. */
  stats(app: string): AppStats {
    assertAppName(app);
    if (this.app.current?.stored !== true) {
      throw new SessionError(
        "app_not_found",
        404,
        `App "${app}" does not exist yet: open it (POST /v1/apps/${app}) or store a session in it first.`,
      );
    }
    const current = this.app.of(app);
    const alarmAt = this.alarm.at;
    return {
      app: current.name,
      settings: current.settings,
      sessions: this.store.count(),
      nextSweep: alarmAt === null ? null : alarmAt / 1000,
      pendingEvents: this.outbox.pending(),
      usage: { ...this.store.usage },
      ...this.#moves(app),
    };
  }

  /** Sessions taken in, handed off, and this object's layout, for `stats`. */
  #moves(app: string): { layout?: Layout; moved: { out: number; in: number } } {
    const layout = this.resharding.current(app);
    const moved = { out: this.resharding.movedOut, in: this.owner.movedIn };
    return layout === undefined ? { moved } : { layout, moved };
  }

  /**
   * One alarm run's work: ends expired sessions in bounded batches (one transaction each),
   * sends the outbox, and takes a move one step further.
   */
  async upkeep(now: number): Promise<void> {
    const engine = this.app.current?.engine;
    if (engine !== undefined) {
      for (let i = 0; i < SWEEP_BATCHES_PER_ALARM; i++) {
        const ended = engine.sweepBatch(now, DEFAULT_SWEEP_BATCH);
        this.events.runHooks();
        if (ended < DEFAULT_SWEEP_BATCH) break;
        await this.outbox.flush();
      }
    }
    await this.alarm.send();
    // Resharding: tell objects a new layout, drain sessions this object no longer owns.
    await this.resharding.onAlarm();
  }
}
