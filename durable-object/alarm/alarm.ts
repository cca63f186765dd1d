import { describeError } from "../../src/core/errors.js";
import type { DeletionRecord } from "../deletion/deletion-record.js";
import type { Outbox } from "../events/outbox.js";
import type { HeldApp } from "../held-app.js";
import type { ObjectMetrics } from "../metrics/object-metrics.js";
import type { StoredLayout } from "../resharding/layout-record.js";
import { nextAlarm, REARM_DELAY_MS, retriedByRuntime } from "./alarm-policy.js";

/**
 * The object's alarm: kept at the next moment work is due (`nextAlarm`: a session can expire,
 * events wait for the Queue, a move goes on), the sends it retries, and one run's frame. It only
 * moves earlier (a late-firing alarm finds nothing and re-arms), so reads never write it; with
 * nothing stored and nothing waiting it is deleted.
 */
export class Alarm {
  readonly #storage: DurableObjectStorage;
  readonly #outbox: Outbox;
  /** The app held: when its next session can expire. */
  readonly #app: HeldApp;
  /** The layout record: when a move needs the alarm. */
  readonly #layout: StoredLayout;
  /** The app's deletion: it needs the alarm until it is done. */
  readonly #deletion: DeletionRecord;
  /** The figures: when their counts are due to be saved. */
  readonly #metrics: ObjectMetrics;
  /** The object's clock (seconds). */
  readonly #now: () => number;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  /** The alarm time (ms) as last set or read; `null` when none. */
  #at: number | null = null;
  #sendFailures = 0;
  /** Whether a run is under way (it re-arms when it ends). */
  #running = false;

  constructor(
    storage: DurableObjectStorage,
    outbox: Outbox,
    app: HeldApp,
    layout: StoredLayout,
    deletion: DeletionRecord,
    metrics: ObjectMetrics,
    now: () => number,
    waitUntil: (promise: Promise<unknown>) => void,
  ) {
    this.#metrics = metrics;
    this.#storage = storage;
    this.#outbox = outbox;
    this.#app = app;
    this.#layout = layout;
    this.#deletion = deletion;
    this.#now = now;
    this.#waitUntil = waitUntil;
  }

  /** When the alarm runs next (ms), or `null`. */
  get at(): number | null {
    return this.#at;
  }

  /**
   * Reads the alarm when the object starts. One lost to a crash, or dropped after its retries
   * ran out, is set again: work that is due (stored sessions, unsent events) always has an alarm.
   */
  async start(): Promise<void> {
    this.#at = await this.#storage.getAlarm();
    if (this.#at === null) this.arm();
  }

  /** Events were stored: the alarm kept for their retry, the Queue sent in the background. */
  sendInBackground(): void {
    this.arm();
    this.#waitUntil(this.flushQuietly());
  }

  /** Sends the waiting events; a failure is logged and retried by the alarm. */
  async flushQuietly(): Promise<void> {
    try {
      await this.#outbox.flush();
      this.#sendFailures = 0;
    } catch (error) {
      this.#sendFailures++;
      console.error("session events not sent yet; will retry", describeError(error));
    }
    // Sent: with nothing stored and nothing waiting, the alarm goes (an idle object holds none).
    // Not sent: the alarm retries.
    this.arm();
  }

  /** Sends every waiting event; rejects when a send fails (the alarm's run then fails). */
  async send(): Promise<void> {
    await this.#outbox.flush();
    this.#sendFailures = 0;
  }

  /**
   * One alarm run: `work` (the sweep, the outbox, a move's next step), then the alarm again. A
   * failure is thrown for the runtime's retries, then caught and re-armed (`retriedByRuntime`).
   */
  async run(info: AlarmInvocationInfo | undefined, work: () => Promise<void>): Promise<void> {
    this.#at = null;
    this.#running = true;
    try {
      await work();
    } catch (error) {
      if (retriedByRuntime(info?.retryCount)) throw error;
      console.error("session sweep failed; re-arming", describeError(error));
      this.#sendFailures++;
    } finally {
      this.#running = false;
    }
    this.arm(true);
  }

  /** Counts wait to be saved (docs/DESIGN.md#metrics): kept for, unless a run re-arms soon. */
  armForCounts(): void {
    if (!this.#running) this.arm();
  }

  /** Keeps the alarm at the next moment work can be due (see the class). */
  arm(inAlarm = false): void {
    // Storage freed with the app (docs/DESIGN.md#deleting-an-app): no alarm, nothing to read.
    if (this.#deletion.wiped) return;
    const held = this.#app.current;
    const due = nextAlarm({
      expiry: held?.engine.nextExpiry(),
      pendingEvents: this.#outbox.hasPending(),
      sendFailures: this.#sendFailures,
      reshardDue: this.#layout.due(held?.name, this.#now()),
      // A deletion goes on a moment after each step (a home object polls its shards meanwhile).
      ...(this.#deletion.state === undefined
        ? {}
        : { deletionDue: this.#now() * 1000 + REARM_DELAY_MS }),
      metricsDue: held?.stored === true ? this.#metrics.saveDue() : Number.POSITIVE_INFINITY,
      inAlarm,
      now: Date.now(),
    });
    if (due === Number.POSITIVE_INFINITY) {
      if (this.#at !== null) {
        this.#at = null;
        void this.#storage.deleteAlarm();
      }
      return;
    }
    if (this.#at === null || due < this.#at) {
      this.#at = due;
      void this.#storage.setAlarm(due);
    }
  }
}
