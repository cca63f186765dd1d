import type { SessionEngine } from "../src/engine.js";
import { type Answer, type Result, resultOf } from "../src/wire.js";
import type { Alarm } from "./alarm.js";
import type { ChangeEvents } from "./change-events.js";
import type { CommitPath } from "./commit-path.js";
import type { HeldApp } from "./held-app.js";
import type { MoveOwner } from "./move-owner.js";
import type { Resharding } from "./resharding.js";

/** The engine work of one operation, given the checked arguments. */
export type EngineWork<A, T> = (engine: SessionEngine, now: number, checked: A) => T;

/** What session operations need of their object. */
export interface SessionOpsHost {
  app: HeldApp;
  alarm: Alarm;
  events: ChangeEvents;
  resharding: Resharding;
  owner: MoveOwner;
  commits: CommitPath;
  /** The object's clock (seconds). */
  now(): number;
}

/**
 * How an object runs a session operation: arguments checked first (a refused call writes
 * nothing), the commits that wait applied before it (it sees them), ownership of its keys under
 * the app's layout, then the engine, its events delivered.
 */
export class SessionOps {
  readonly #host: SessionOpsHost;

  constructor(host: SessionOpsHost) {
    this.#host = host;
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
    if (!checked.ok) return checked;
    // Commits that wait go first: the ownership check sees the layout they leave.
    this.#host.commits.flush();
    const away = this.notHere(app, keys);
    if (away !== undefined) return away;
    return this.#host.owner.answer(app, keys, epoch, () => this.run(app, checked.value, fn));
  }

  /** An operation that needs no owned key (the sweep), after the commits that wait. */
  onApp<A, T>(app: string, check: () => A, fn: EngineWork<A, T>): Result<T> {
    this.#host.commits.flush();
    const checked = this.#check(app, check);
    return checked.ok ? this.run(app, checked.value, fn) : checked;
  }

  /**
   * Runs `fn` on the app's engine and delivers its events. An app not stored yet is stored with
   * the operation's first write, in its transaction: a read or a refused call writes nothing.
   */
  run<A, T>(app: string, checked: A, fn: EngineWork<A, T>): Result<T> {
    const { app: held } = this.#host;
    const result = resultOf(() => {
      const current = held.of(app);
      return held.storing(current, () => fn(current.engine, this.#host.now(), checked));
    });
    if (this.#host.events.runHooks() > 0) this.#host.alarm.sendInBackground();
    return result;
  }

  /** `wrong_shard` for keys this object does not hold, when it knows no layout (HeldApp). */
  notHere(app: string, keys: string[]): Result<never> | undefined {
    return this.#host.resharding.notHere(app, keys);
  }

  #check<A>(app: string, check: () => A): Result<A> {
    return resultOf(() => {
      this.#host.app.check(app);
      return check();
    });
  }
}
