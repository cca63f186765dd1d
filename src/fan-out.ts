import type { Changeset } from "./changeset.js";
import { describeError } from "./errors.js";
import { wrongShard } from "./layout.js";
import { objectName, shardOf } from "./names.js";
import type { CommitResult } from "./session-view.js";
import { type AppStats, failure, type Result, resultOf } from "./wire.js";

/** Refuses a move between shards (409 `wrong_shard`): it could not be atomic. */
export function sameShardOf(
  app: string,
  oldKey: string,
  newKey: string,
  shards: number,
): Result<true> {
  return resultOf(() => {
    if (shardOf(oldKey, shards) !== shardOf(newKey, shards)) {
      throw wrongShard(app, oldKey, newKey, shards);
    }
    return true as const;
  });
}

/**
 * The changesets of `app` grouped by the object that owns their key among `shards`, each with
 * its indexes in `changes`, and the results of those refused before any call: a changeset whose
 * `newKey` lives on another shard than its key (`sameShardOf`).
 */
export function groupByObject(
  app: string,
  changes: Changeset[],
  shards: number,
): { groups: { indexes: number[]; changes: Changeset[] }[]; results: Result<CommitResult>[] } {
  const results: Result<CommitResult>[] = [];
  const byObject = new Map<string, number[]>();
  changes.forEach((change, i) => {
    if (change.newKey !== undefined) {
      const sameShard = sameShardOf(app, change.key, change.newKey, shards);
      if (!sameShard.ok) {
        results[i] = sameShard;
        return;
      }
    }
    const name = objectName(app, change.key, shards);
    byObject.set(name, [...(byObject.get(name) ?? []), i]);
  });
  const groups = [...byObject.values()].map((indexes) => ({
    indexes,
    changes: indexes.map((i) => changes[i] as Changeset),
  }));
  return { groups, results };
}

/** Adds the stats of one of an app's objects to `total`, the app's stats so far. */
export function addStats(total: AppStats, part: AppStats): void {
  total.sessions += part.sessions;
  total.pendingEvents += part.pendingEvents;
  total.usage.rowsRead += part.usage.rowsRead;
  total.usage.rowsWritten += part.usage.rowsWritten;
  if (total.moved !== undefined && part.moved !== undefined) {
    total.moved.out += part.moved.out;
    total.moved.in += part.moved.in;
  }
  const sweep = part.nextSweep;
  if (sweep !== null && (total.nextSweep === null || sweep < total.nextSweep)) {
    total.nextSweep = sweep;
  }
}

/**
 * The answer for changesets whose object could not be reached: whether they were applied is
 * unknown, so read the sessions again before redoing them.
 */
export function unreachable(app: string, error: unknown): Result<never> {
  return failure({
    code: "unavailable",
    status: 503,
    app,
    message: `An object of app "${app}" could not be reached (${describeError(error)}); whether these changes were applied is unknown: read the sessions again, then retry.`,
  });
}
