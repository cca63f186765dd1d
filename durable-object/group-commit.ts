import type { Changeset } from "../src/core/changeset.js";

/** The changesets of one call (`commit` or `commitMany`), with the caller's layout epoch. */
export interface CommitGroup {
  app: string;
  changes: Changeset[];
  epoch: number | undefined;
}

/**
 * Applies groups in one storage transaction; one answer list per group (or the error that
 * refused the whole group). Throws when the transaction itself failed: nothing of it was kept.
 */
export type ApplyGroups<R> = (groups: CommitGroup[]) => (R[] | Error)[];

/** A group that waits for the write in flight, and how to answer its call. */
interface Waiting<R> {
  group: CommitGroup;
  settle(answers: R[] | Error): void;
}

/**
 * Group commit (docs/DESIGN.md#group-commit): a call that commits while no write is in flight is
 * applied at once, and its write becomes the one in flight; calls that commit while it is in
 * flight wait, and are applied together in one transaction as soon as it is durable or after one
 * turn of the event loop, whichever comes first. Each changeset stays atomic on its own (`apply`
 * puts each in a savepoint), and every answer still waits until its write is durable (the
 * object's output gate holds it).
 */
export class GroupCommit<R> {
  readonly #apply: ApplyGroups<R>;
  /** Says when every write made so far is durable (`sync()`). */
  readonly #storage: DurableObjectStorage;
  #waiting: Waiting<R>[] = [];
  /** Whether a write is in flight: set when groups are applied, cleared once it is durable. */
  #writing = false;
  /** Whether groups were applied while a write was in flight: their write is watched next. */
  #writtenSince = false;

  constructor(apply: ApplyGroups<R>, storage: DurableObjectStorage) {
    this.#apply = apply;
    this.#storage = storage;
  }

  /** Commits `group` now (no write in flight) or once the write in flight is durable. */
  submit(group: CommitGroup): R[] | Promise<R[]> {
    if (!this.#writing) {
      this.flush();
      const [answers] = this.#apply([group]);
      this.#watchWrite();
      if (answers instanceof Error) throw answers;
      return answers as R[];
    }
    // The storage says when the write is durable only some time after the answers it held have
    // left (measured: a commit made one at a time waited for it half as long again as its own
    // write). So the groups that waited are also applied after one turn of the event loop: by
    // then, all that arrived while the write blocked the thread (local SQLite) are here.
    if (this.#waiting.length === 0) setTimeout(() => this.flush(), 0);
    return new Promise((resolve, reject) => {
      this.#waiting.push({
        group,
        settle: (answers) => (answers instanceof Error ? reject(answers) : resolve(answers)),
      });
    });
  }

  /**
   * Applies the groups that wait, in one transaction, and answers each. Every other call of the
   * object runs this first, so that it sees the commits that arrived before it.
   */
  flush(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    let answers: (R[] | Error)[];
    try {
      answers = this.#apply(waiting.map((w) => w.group));
    } catch (error) {
      // The transaction itself failed: nothing of it was kept, and every waiting call hears so.
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const item of waiting) item.settle(failure);
      return;
    }
    for (const [i, item] of waiting.entries()) {
      item.settle(answers[i] ?? new Error("group commit: no answer"));
    }
    this.#watchWrite();
  }

  /**
   * Marks a write in flight until the storage says it is durable; then applies what waited. A
   * write made meanwhile (groups applied after one turn of the event loop) is watched in turn.
   */
  #watchWrite(): void {
    if (this.#writing) {
      this.#writtenSince = true;
      return;
    }
    this.#writing = true;
    const durable = () => {
      if (this.#writtenSince) {
        this.#writtenSince = false;
        this.#storage.sync().then(durable, durable);
        return;
      }
      this.#writing = false;
      this.flush();
    };
    this.#storage.sync().then(durable, durable);
  }
}
