import type { SessionEngine } from "../src/core/engine.js";
import { type Answer, type Result, resultOf } from "../src/routing/wire.js";
import type { Alarm } from "./alarm/alarm.js";
import type { ChangeEvents } from "./events/change-events.js";
import type { HeldApp } from "./held-app.js";
import type { ObjectMetrics } from "./metrics/object-metrics.js";
import type { MoveOwner } from "./resharding/move-owner.js";
import type { Resharding } from "./resharding/resharding.js";

/** The engine work of one operation, given the checked arguments. */
export type EngineWork<A, T> = (engine: SessionEngine, now: number, checked: A) => T;

/**
 * How an object runs a session operation (once the commits that wait are applied: the object
 * does that when a call enters): arguments checked first (a refused call writes nothing),
 * ownership of its keys under the app's layout, then the engine, its events delivered.
 */
export class SessionOps {
  readonly #app: HeldApp;
  readonly #events: ChangeEvents;
  readonly #alarm: Alarm;
  /** For an object with no layout: keys of another shard (`Resharding.notHere`). */
  readonly #resharding: Resharding;
  /** Ownership under the app's layout, and the pull of a session that must come here first. */
  readonly #owner: MoveOwner;
  /** The object's clock (seconds). */
  readonly #now: () => number;
  /** Counts the calls refused. */
  readonly #metrics: ObjectMetrics;

  constructor(
    app: HeldApp,
    events: ChangeEvents,
    alarm: Alarm,
    resharding: Resharding,
    owner: MoveOwner,
    now: () => number,
    metrics: ObjectMetrics,
  ) {
    this.#metrics = metrics;
    this.#app = app;
    this.#events = events;
    this.#alarm = alarm;
    this.#resharding = resharding;
    this.#owner = owner;
    this.#now = now;
  }

  /**
   * An operation on `keys`: if this object owns them (after pulling them from their source
   * during a move), `run`; otherwise a redirection (`moved`) with the layout, or `wrong_shard`.
   */
  onKeys<A, T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    check: () => A,
    fn: EngineWork<A, T>,
  ): Answer<T> {
    const checked = this.#check(app, check);
    if (!checked.ok) return this.#refused(checked);
    const unknown = this.#app.notIntroduced(app, epoch);
    if (unknown !== undefined) return unknown;
    const away = this.#resharding.notHere(app, keys);
    if (away !== undefined) return away;
    const answer = this.#owner.answer(app, keys, epoch, () => this.run(app, checked.value, fn));
    return answer instanceof Promise ? answer.then((a) => this.#refused(a)) : this.#refused(answer);
  }

  /** Counts `answer` when it is a refusal (docs/DESIGN.md#metrics). */
  #refused<T>(answer: Result<T>): Result<T> {
    if (!answer.ok) this.#metrics.countRefusal(answer.error.code, this.#now());
    return answer;
  }

  /** An operation that needs no owned key (the sweep). */
  onApp<A, T>(app: string, check: () => A, fn: EngineWork<A, T>): Result<T> {
    const checked = this.#check(app, check);
    return checked.ok ? this.run(app, checked.value, fn) : checked;
  }

  /**
   * Runs `fn` on the app's engine and delivers its events. An app not stored yet is stored with
   * the operation's first write, in its transaction: a read or a refused call writes nothing.
   */
  run<A, T>(app: string, checked: A, fn: EngineWork<A, T>): Result<T> {
    const held = this.#app;
    try {
      return resultOf(() => {
        const current = held.of(app);
        return held.storing(current, () => fn(current.engine, this.#now(), checked));
      });
    } finally {
      // Also after a storage error: the events of batches that did commit (a sweep) go now.
      if (this.#events.runHooks() > 0) this.#alarm.sendInBackground();
    }
  }

  #check<A>(app: string, check: () => A): Result<A> {
    return resultOf(() => {
      this.#app.check(app);
      return check();
    });
  }
}
