import type { Changeset } from "../core/changeset.js";
import { describeError } from "../core/errors.js";
import { objectName } from "../core/names.js";
import { type AppStats, failure, type Result } from "./wire.js";

/**
 * The changesets of `app` grouped by the object that owns their key among `shards`, each with
 * its indexes in `changes`. A `newKey` is judged by that object, under the layout in force.
 */
export function groupByObject(
  app: string,
  changes: Changeset[],
  shards: number,
): { indexes: number[]; changes: Changeset[] }[] {
  const byObject = new Map<string, number[]>();
  changes.forEach((change, i) => {
    const name = objectName(app, change.key, shards);
    byObject.set(name, [...(byObject.get(name) ?? []), i]);
  });
  return [...byObject.values()].map((indexes) => ({
    indexes,
    changes: indexes.map((i) => changes[i] as Changeset),
  }));
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
