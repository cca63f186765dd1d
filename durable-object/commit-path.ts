import type { Changeset } from "../src/core/changeset.js";
import { describeError } from "../src/core/errors.js";
import { type CommitResult, commitResult, snapshotOf } from "../src/core/session-view.js";
import { errorBody, failure, type Result, resultOf } from "../src/routing/wire.js";
import type { Alarm } from "./alarm/alarm.js";
import type { ChangeEvents } from "./events/change-events.js";
import { type CommitGroup, GroupCommit } from "./group-commit.js";
import type { HeldApp } from "./held-app.js";
import type { ObjectMetrics } from "./metrics/object-metrics.js";
import type { MoveOwner } from "./resharding/move-owner.js";
import type { Resharding } from "./resharding/resharding.js";
import type { SqlStore } from "./storage/sql-store.js";

/**
 * The answer to one changeset of a group, or `PULL_FIRST`: this object owns its key but must
 * first learn a newer layout or pull the session from its source (a move began meanwhile), so it
 * is committed again after that, alone.
 */
type GroupAnswer = Result<CommitResult> | typeof PULL_FIRST;
const PULL_FIRST = Symbol("pull first");

/**
 * How an object commits (docs/DESIGN.md#group-commit): changesets go through group commit, each
 * applied in a savepoint of its own with the rules of a lone commit, ownership checked when it is
 * applied.
 */
export class CommitPath {
  readonly #store: SqlStore;
  readonly #app: HeldApp;
  readonly #events: ChangeEvents;
  readonly #alarm: Alarm;
  /** For an object with no layout: keys of another shard (`Resharding.notHere`). */
  readonly #resharding: Resharding;
  /** Ownership under the app's layout, and the pull of a session that must come here first. */
  readonly #owner: MoveOwner;
  /** The object's clock (seconds). */
  readonly #now: () => number;
  readonly #group: GroupCommit<GroupAnswer>;
  /** Counts commits, conflicts and refusals. */
  readonly #metrics: ObjectMetrics;

  constructor(
    store: SqlStore,
    storage: DurableObjectStorage,
    app: HeldApp,
    events: ChangeEvents,
    alarm: Alarm,
    resharding: Resharding,
    owner: MoveOwner,
    now: () => number,
    metrics: ObjectMetrics,
  ) {
    this.#metrics = metrics;
    this.#store = store;
    this.#app = app;
    this.#events = events;
    this.#alarm = alarm;
    this.#resharding = resharding;
    this.#owner = owner;
    this.#now = now;
    this.#group = new GroupCommit((groups) => this.#apply(groups), storage);
  }

  /** Applies the commits that wait, so that the call about to run sees them. */
  flush(): void {
    this.#group.flush();
  }

  /**
   * Commits checked changesets; one answer each, in order. Those that had to wait for a newer
   * layout or a session's pull are committed again alone once it is here.
   */
  commit(
    app: string,
    changes: Changeset[],
    epoch: number | undefined,
  ): Result<CommitResult>[] | Promise<Result<CommitResult>[]> {
    // A shard emptied by its app's deletion (`HeldApp.notIntroduced`).
    const unknown = this.#app.notIntroduced(app, epoch);
    if (unknown !== undefined) return changes.map(() => unknown);
    let answers: GroupAnswer[] | Promise<GroupAnswer[]>;
    try {
      answers = this.#group.submit({ app, changes, epoch });
    } catch (error) {
      // The group's transaction failed: nothing of it was stored.
      return changes.map((change) => storageFailure(change.key, error));
    }
    if (answers instanceof Promise) {
      return answers.then(
        (all) => this.#afterPulls(app, changes, epoch, all),
        (error) => changes.map((change) => storageFailure(change.key, error)),
      );
    }
    return this.#afterPulls(app, changes, epoch, answers);
  }

  /** The answers of a group, with those marked `PULL_FIRST` committed again after the pull. */
  #afterPulls(
    app: string,
    changes: Changeset[],
    epoch: number | undefined,
    answers: GroupAnswer[],
  ): Result<CommitResult>[] | Promise<Result<CommitResult>[]> {
    if (!answers.includes(PULL_FIRST)) return answers as Result<CommitResult>[];
    return Promise.all(
      answers.map((answer, i) => {
        if (answer !== PULL_FIRST) return answer;
        const change = changes[i] as Changeset;
        // A pull that failed answers this changeset alone (`guard` answers it as an error).
        return this.#owner.answer(app, keysOf(change), epoch, () => {
          const again = this.commit(app, [change], undefined);
          return again instanceof Promise
            ? again.then((all) => all[0] as Result<CommitResult>)
            : (again[0] as Result<CommitResult>);
        });
      }),
    );
  }

  /**
   * Applies groups of changesets in one storage transaction (`SqlStore.batch`: a session changed
   * twice is written once; a lone changeset in its own transaction alone), each changeset in a
   * savepoint of its own, with the same rules as a
   * lone commit: this object must own its key (and `newKey`) under the app's layout, a commit
   * that changes nothing writes nothing, and an app not stored yet is stored in the savepoint of
   * the first commit that stores something. A refused one (conflict, too large, moved, wrong
   * shard, key taken) or one whose write failed (500 `storage_error`) rolls back alone, its move
   * (`newKey`) with it, and answers its error.
   */
  #apply(groups: CommitGroup[]): (GroupAnswer[] | Error)[] {
    const store = this.#store;
    const held = this.#app;
    const events = this.#events;
    const now = this.#now();
    const mark = events.mark();
    const before = held.current;
    const apply = () =>
      groups.map(({ app, changes, epoch }) => {
        try {
          const known = resultOf(() => held.of(app));
          if (!known.ok) return changes.map(() => known);
          return changes.map((change) => this.#applyOne(app, change, epoch, now));
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      });
    try {
      // A lone changeset needs no batch around it: its own transaction (the engine's, with its
      // outbox rows) is then the commit's one transaction, not a savepoint in another, and
      // there is no other commit to share a write with.
      const lone = groups.length === 1 && groups[0]?.changes.length === 1;
      const answers = lone ? apply() : store.batch(apply);
      this.#count(answers, now);
      return answers;
    } catch (error) {
      // Nothing of the batch was kept: neither its events nor an app first stored in it.
      events.forget(mark);
      held.forgetIfFirstStoredSince(before);
      throw error;
    } finally {
      if (events.runHooks() > 0) this.#alarm.sendInBackground();
    }
  }

  /** Counts the stored commits and the refusals of a group that was kept (docs/DESIGN.md#metrics). */
  #count(answers: (GroupAnswer[] | Error)[], now: number): void {
    let stored = 0;
    for (const group of answers) {
      if (group instanceof Error) continue;
      for (const answer of group) {
        if (answer === PULL_FIRST) continue;
        if (answer.ok) stored++;
        else this.#metrics.countRefusal(answer.error.code, now);
      }
    }
    this.#metrics.countCommits(stored, now);
  }

  /** One changeset of a group, in a savepoint of its own (see `#apply`). */
  #applyOne(app: string, change: Changeset, epoch: number | undefined, now: number): GroupAnswer {
    const held = this.#app;
    const mark = this.#events.mark();
    let result: Result<CommitResult>;
    try {
      // Owned here, checked now: a layout may have changed while the commit waited.
      const owned = this.#owns(app, keysOf(change), epoch);
      if (owned !== true) return owned;
      result = resultOf(() => {
        const current = held.of(app);
        // The engine's commit is a savepoint (with its move, for a newKey); `storing` adds one
        // around it and the app's row for an app not stored yet.
        const stored = held.storing(current, () => current.engine.commit(change, now));
        return commitResult(change.key, stored && snapshotOf(stored), change.invalidate === true);
      });
    } catch (error) {
      // Its savepoint rolled back: this one failed alone, the others go on.
      result = storageFailure(change.key, error);
    }
    // A refused commit's events were rolled back with it.
    if (!result.ok) this.#events.forget(mark);
    return result;
  }

  /**
   * Whether this object owns `keys` now: `true`; an error answer (`moved`, `wrong_shard`); or
   * `PULL_FIRST` when it must learn a newer layout or pull a session first.
   */
  #owns(
    app: string,
    keys: string[],
    epoch: number | undefined,
  ): true | Result<never> | typeof PULL_FIRST {
    const away = this.#resharding.notHere(app, keys);
    if (away !== undefined) return away;
    const verdict = this.#owner.check(app, keys, epoch);
    if (verdict === "run") return true;
    if (verdict === "slow") return PULL_FIRST;
    return { ok: false, error: errorBody(verdict) };
  }
}

/** The keys a changeset needs on this object: its key, and its `newKey` when it moves. */
function keysOf(change: Changeset): string[] {
  return change.newKey === undefined ? [change.key] : [change.key, change.newKey];
}

/** The answer of a commit whose write failed (its savepoint rolled back): 500, try again. */
function storageFailure(key: string, error: unknown): Result<never> {
  return failure({
    code: "storage_error",
    status: 500,
    key,
    message: `The commit of session "${key}" could not be written (${describeError(error)}); nothing of it was stored. Read the session again and retry.`,
  });
}
