import { describeError } from "../../src/core/errors.js";
import type { SessionEvent } from "../../src/core/events.js";
import type { AppSettings } from "../../src/core/settings.js";
import type { SqlStore } from "../storage/sql-store.js";
import type { Outbox } from "./outbox.js";

/**
 * The events of the object's changes: written to the outbox inside the change's transaction (so
 * the row commits or rolls back with it), and handed to the in-process hooks once it is done.
 * Events of a change that rolled back are forgotten (`SqlStore.onRollback`; `mark`, `forget`).
 */
export class ChangeEvents {
  readonly #outbox: Outbox;
  readonly #store: SqlStore;
  readonly #hook: (event: SessionEvent) => void | Promise<void>;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  /** Events of changes made since the hooks last ran. */
  #events: SessionEvent[] = [];

  /** `hook` is the object's `onSessionBegin` / `onSessionEnd`; `waitUntil` keeps a hook's promise. */
  constructor(
    outbox: Outbox,
    store: SqlStore,
    hook: (event: SessionEvent) => void | Promise<void>,
    waitUntil: (promise: Promise<unknown>) => void,
  ) {
    this.#outbox = outbox;
    this.#store = store;
    this.#hook = hook;
    this.#waitUntil = waitUntil;
  }

  /**
   * Takes the events of a change, inside its transaction: the Queue's (ends, and begins when the
   * app's settings ask for them) go to the outbox, all of them to the hooks afterwards.
   */
  add(settings: AppSettings, events: SessionEvent[]): void {
    this.#outbox.add(events.filter((e) => e.type === "end" || settings.beginEvents));
    // The outbox rows roll back with the change's transaction; so must the hooks' events.
    const mark = this.mark();
    this.#events.push(...events);
    this.#store.onRollback(() => this.forget(mark));
  }

  /** How many events the current change made so far: `forget` drops those made after. */
  mark(): number {
    return this.#events.length;
  }

  /** Drops the events made since `mark` (their change was rolled back). */
  forget(mark: number): void {
    if (this.#events.length > mark) this.#events.length = mark;
  }

  /**
   * Hands the events of the last change to the in-process hooks; a hook's error is logged.
   * Returns how many there were.
   */
  runHooks(): number {
    const events = this.#events;
    this.#events = [];
    for (const event of events) {
      try {
        const done = this.#hook(event);
        if (done instanceof Promise) this.#waitUntil(done.catch((e) => logHookError(e)));
      } catch (error) {
        logHookError(error);
      }
    }
    return events.length;
  }
}

function logHookError(error: unknown): void {
  console.error("session event hook failed", describeError(error));
}
