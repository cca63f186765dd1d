import { DEFAULT_SWEEP_BATCH } from "../../src/core/engine.js";
import { describeError, SessionError } from "../../src/core/errors.js";
import { assertAppName } from "../../src/core/names.js";
import { type Layout, otherObjectsOf } from "../../src/routing/layout.js";
import { type AppDeletion, type Result, resultOf } from "../../src/routing/wire.js";
import type { Alarm } from "../alarm/alarm.js";
import type { ChangeEvents } from "../events/change-events.js";
import type { Outbox } from "../events/outbox.js";
import type { HeldApp } from "../held-app.js";
import type { StoredLayout } from "../resharding/layout-record.js";
import type { Resharding } from "../resharding/resharding.js";
import type { SqlStore } from "../storage/sql-store.js";
import type { DeletionRecord, DeletionState } from "./deletion-record.js";

/** Batches of sessions (`DEFAULT_SWEEP_BATCH` each, one transaction each) one step ends at most. */
export const DELETE_BATCHES_PER_STEP = 20;

/**
 * Deleting the app an object holds (docs/DESIGN.md#deleting-an-app). Each step ends sessions in
 * bounded batches, as the sweep does (one transaction each: rows deleted, end events written to
 * the outbox), and sends the events; the home object of a sharded app also asks each of the app's
 * other objects to delete its part. Once nothing is left here (no session, no event waiting, no
 * other object), the alarm and the storage are deleted (`deleteAll`): the object holds nothing.
 *
 * A step runs on each `deleteApp` call and on each alarm run until then; the record
 * (deletion-record.ts) keeps the work across restarts, so a crash loses nothing: a batch either
 * ended its sessions and wrote their events or did neither, and events leave the outbox only once
 * the Queue accepted them.
 */
export class Deletion {
  readonly #record: DeletionRecord;
  readonly #store: SqlStore;
  readonly #outbox: Outbox;
  readonly #events: ChangeEvents;
  readonly #app: HeldApp;
  /** The layout (which objects the app has) and the way to reach them. */
  readonly #resharding: Resharding;
  /** The layout record: the most shards the app ever had. */
  readonly #layout: StoredLayout;
  readonly #alarm: Alarm;
  readonly #storage: DurableObjectStorage;
  /** The object's clock (seconds). */
  readonly #now: () => number;
  #stepping: Promise<AppDeletion> | undefined;

  constructor(
    record: DeletionRecord,
    store: SqlStore,
    outbox: Outbox,
    events: ChangeEvents,
    app: HeldApp,
    resharding: Resharding,
    layout: StoredLayout,
    alarm: Alarm,
    storage: DurableObjectStorage,
    now: () => number,
  ) {
    this.#record = record;
    this.#store = store;
    this.#outbox = outbox;
    this.#events = events;
    this.#app = app;
    this.#resharding = resharding;
    this.#layout = layout;
    this.#alarm = alarm;
    this.#storage = storage;
    this.#now = now;
  }

  /** Whether a deletion is under way here (the alarm's work, until it is done). */
  get underWay(): boolean {
    return this.#record.state !== undefined && !this.#record.wiped;
  }

  /**
   * Deletes `app`: begins (if it is not under way yet), takes the work one step further, and
   * answers how far it has come. 404 `app_not_found` when this object holds no such app; an object
   * that holds nothing of it frees the storage it has (an empty schema) on the way.
   */
  async request(app: string): Promise<Result<AppDeletion>> {
    const begun = resultOf(() => this.#begin(app));
    if (!begun.ok) {
      if (begun.error.code === "app_not_found" && this.#app.current?.stored !== true) {
        await this.#wipe();
      }
      return begun;
    }
    return { ok: true, value: await this.step() };
  }

  /** One step of the work (see the class); steps never overlap. */
  step(): Promise<AppDeletion> {
    this.#stepping ??= this.#stepOnce().finally(() => {
      this.#stepping = undefined;
    });
    return this.#stepping;
  }

  #begin(app: string): void {
    if (this.#record.deleting(app)) return;
    assertAppName(app);
    const current = this.#app.of(app);
    if (!current.stored) {
      throw new SessionError(
        "app_not_found",
        `App "${app}" does not exist: it was never used, or it was deleted. Nothing to delete.`,
      );
    }
    const layout = this.#resharding.current(app);
    const home = this.#resharding.isHome(app);
    // The home object knows when a move has ended; a shard may not have been told yet (and then
    // holds no session handed off and not confirmed: the move ended once every one was).
    if (home && layout !== undefined && layout.from !== null) {
      throw new SessionError(
        "app_moving",
        `App "${app}" is moving its sessions from ${layout.from} to ${layout.shards} shards: nothing was deleted. Delete it once the move ends (its stats show layout.from null).`,
      );
    }
    const objects = home && layout !== undefined ? this.#objectsOf(app, layout) : [];
    this.#record.save({ app, objects });
    this.#alarm.arm();
  }

  /**
   * The home object: every other object the app may have stored something in. Those of its
   * layout, and those of the most shards it ever had (`peak`): an object that a shrink emptied
   * still holds the app's settings and layout.
   */
  #objectsOf(app: string, layout: Layout): string[] {
    return otherObjectsOf(app, layout, this.#layout.peak(layout));
  }

  async #stepOnce(): Promise<AppDeletion> {
    const state = this.#record.state;
    if (state === undefined || this.#record.wiped) {
      return { app: state?.app ?? "", deleted: true, sessions: 0, pendingEvents: 0 };
    }
    const held = this.#app.current;
    if (held === undefined) {
      // The record outlived the app's row (it cannot, but then nothing of the app is left).
      await this.#wipe();
      return { app: state.app, deleted: true, sessions: 0, pendingEvents: 0 };
    }
    for (let batch = 0; batch < DELETE_BATCHES_PER_STEP; batch++) {
      const ended = held.engine.endBatch(this.#now(), DEFAULT_SWEEP_BATCH);
      this.#events.runHooks();
      // Sent before the next batch, so the outbox stays small; a refused send waits for the
      // alarm's retry (with its back-off), and storage is kept until every event is sent.
      await this.#alarm.flushQuietly();
      if (ended < DEFAULT_SWEEP_BATCH || this.#outbox.hasPending()) break;
    }
    const others =
      state.objects.length > 0
        ? await this.#deleteObjects(state)
        : { sessions: 0, pendingEvents: 0 };
    const here = { sessions: this.#store.count(), pendingEvents: this.#outbox.pending() };
    const left = this.#record.state?.objects.length ?? 0;
    if (here.sessions === 0 && here.pendingEvents === 0 && left === 0) {
      await this.#wipe();
      return { app: state.app, deleted: true, sessions: 0, pendingEvents: 0 };
    }
    this.#alarm.arm();
    return {
      app: state.app,
      deleted: false,
      sessions: here.sessions + others.sessions,
      pendingEvents: here.pendingEvents + others.pendingEvents,
    };
  }

  /**
   * The home object asks each of the app's other objects to delete its part, and forgets those
   * that are done (or never held the app). Answers what the others still hold.
   */
  async #deleteObjects(state: DeletionState): Promise<DeletionState["others"] & {}> {
    const answers = await Promise.all(
      state.objects.map(async (name): Promise<AppDeletion | undefined> => {
        try {
          const result = await this.#resharding.object(name).deleteApp(state.app);
          if (result.ok) return result.value;
          if (result.error.code === "app_not_found") return { ...none(state.app), deleted: true };
          console.error("app deletion: an object refused; will retry", result.error.code);
        } catch (error) {
          console.error("app deletion: an object failed; will retry", describeError(error));
        }
        return undefined;
      }),
    );
    const objects = state.objects.filter((_, i) => answers[i]?.deleted !== true);
    const others = { sessions: 0, pendingEvents: 0 };
    for (const answer of answers) {
      others.sessions += answer?.sessions ?? 0;
      others.pendingEvents += answer?.pendingEvents ?? 0;
    }
    this.#record.save({ ...state, objects, others });
    return others;
  }

  /** Frees the object's storage: the alarm, then every table and the record with them. */
  async #wipe(): Promise<void> {
    await this.#storage.deleteAlarm();
    const deleted = this.#storage.deleteAll();
    // From here the object's parts hold a state that is gone: the object builds new ones.
    this.#record.wiped = true;
    await deleted;
  }
}

function none(app: string): AppDeletion {
  return { app, deleted: false, sessions: 0, pendingEvents: 0 };
}
