// Storage rows per operation (SQL cursor counters, as billed) and the sweep's cost.
import { type BenchWorker, delta } from "./driver.ts";
import { metrics, record } from "./figures.ts";
import type { Plan } from "./plan.ts";
import { CONCURRENCY, T0 } from "./rpc.ts";

/** Default app settings (docs/DESIGN.md#settings): timeout 1200 s, period 20 s. */
export const TIMEOUT = 1200;
export const PERIOD = 20;

interface Snapshot {
  key: string;
  sid: string;
  version: number;
}

/**
 * Rows read and written per read within a period, per commit, per created session; and the rows
 * a session changed twice costs when the two commits are grouped (one `commitMany`) or apart.
 */
export async function benchRows(worker: BenchWorker): Promise<void> {
  const app = "rows";
  const name = await worker.objectOf(app);
  await worker.call(name, "setClock", T0);
  let before = await worker.usage(name);
  const created = 1_000;
  await worker.call(name, "seed", app, { prefix: "r", count: created }, { n: 0 });
  let used = delta(before, await worker.usage(name));
  record("rows_written_per_created_session", [used.rowsWritten / created]);

  // Reads within the period of the last access: no write at all (docs/DESIGN.md#access-and-touch).
  await worker.call(name, "setClock", T0 + PERIOD / 2);
  const keys = ["r0", "r1", "r2", "r3"];
  const reads = 2_000;
  before = await worker.usage(name);
  await worker.loop({ op: "get-view", app, keys, n: reads, concurrency: CONCURRENCY });
  used = delta(before, await worker.usage(name));
  record("rows_written_per_read_in_period", [used.rowsWritten / reads]);
  record("rows_read_per_read", [used.rowsRead / reads]);

  // The first read in a new period moves the slice: one write per session per period.
  await worker.call(name, "setClock", T0 + PERIOD);
  before = await worker.usage(name);
  await worker.loop({ op: "get-view", app, keys, n: reads, concurrency: CONCURRENCY });
  used = delta(before, await worker.usage(name));
  record("rows_written_per_session_first_read_in_new_period", [used.rowsWritten / keys.length]);

  const commits = 2_000;
  const commitKeys = Array.from({ length: CONCURRENCY }, (_, i) => `r${100 + i}`);
  before = await worker.usage(name);
  await worker.loop({ op: "commit", app, keys: commitKeys, n: commits, concurrency: CONCURRENCY });
  used = delta(before, await worker.usage(name));
  // The loop first reads each worker's session once (a get), then commits.
  record("rows_written_per_commit", [used.rowsWritten / commits]);
  record("rows_read_per_commit", [(used.rowsRead - commitKeys.length) / commits]);

  // One session changed twice (two changesets from the same snapshot, each setting a key of
  // its own, so they merge): two commits one after the other, against both in one commitMany.
  const twice = async (key: string, grouped: boolean): Promise<number> => {
    const got = await worker.call<{ value: Snapshot }>(name, "get", app, key);
    const { sid, version } = got.value.value;
    const changes = ["a", "b"].map((k) => ({ key, sid, version, set: { [k]: 1 } }));
    const start = await worker.usage(name);
    if (grouped) await worker.call(name, "commitMany", app, changes);
    else for (const change of changes) await worker.call(name, "commit", app, change);
    return delta(start, await worker.usage(name)).rowsWritten;
  };
  const apart = await twice("r10", false);
  const grouped = await twice("r11", true);
  record("rows_written_same_session_twice_apart", [apart]);
  record("rows_written_same_session_twice_grouped", [grouped]);
  record("rows_written_same_session_twice_grouped_vs_apart", [grouped / apart]);

  // Sessions ended by the sweep, measured on their own: an app whose sessions have all expired,
  // the rows one sweep writes (the rows, their index entries, the outbox) per session it ends.
  const endedApp = "rows-ended";
  const endedName = await worker.objectOf(endedApp);
  const ending = 1_000;
  await worker.call(endedName, "setClock", T0);
  await worker.call(endedName, "seed", endedApp, { prefix: "e", count: ending }, { n: 0 });
  await worker.call(endedName, "setClock", T0 + TIMEOUT + 2 * PERIOD);
  before = await worker.usage(endedName);
  const swept = await worker.call<{ ok: true; value: number }>(endedName, "sweep", endedApp);
  used = delta(before, await worker.usage(endedName));
  if (swept.value.value !== ending) {
    throw new Error(`sweep of ${endedApp} ended ${swept.value.value}, expected ${ending}`);
  }
  record("rows_written_per_ended_session", [used.rowsWritten / ending]);
}

/** The sweep at each stored size, 10 % of the sessions expired. */
export async function benchSweep(
  worker: BenchWorker,
  plan: Plan,
  log: (message: string) => void,
): Promise<void> {
  const later = T0 + TIMEOUT + 2 * PERIOD; // sessions last touched at T0 have expired by now
  for (const size of plan.sweepSizes) {
    const label = size >= 1000 ? `${size / 1000}k` : String(size);
    const app = `sweep-${label}`;
    const name = await worker.objectOf(app);
    const expired = size / 10;
    const t = Date.now();
    await worker.call(name, "setClock", later);
    await worker.call(name, "seed", app, { prefix: "live", count: size - expired }, { n: 1 });
    const perSecond: number[] = [];
    const readPer: number[] = [];
    const writtenPer: number[] = [];
    for (let r = 0; r < plan.sweepRuns; r++) {
      await worker.call(name, "setClock", T0);
      await worker.call(name, "seed", app, { prefix: `old${r}-`, count: expired }, { n: 1 });
      await worker.call(name, "setClock", later);
      const before = await worker.usage(name);
      const swept = await worker.call<{ ok: true; value: number }>(name, "sweep", app);
      const used = delta(before, await worker.usage(name));
      if (swept.value.value !== expired) {
        throw new Error(`sweep of ${app} ended ${swept.value.value}, expected ${expired}`);
      }
      perSecond.push((expired / Math.max(swept.elapsedMs, 1)) * 1000);
      readPer.push(used.rowsRead / expired);
      writtenPer.push(used.rowsWritten / expired);
    }
    const stats = await worker.call<{ ok: true; value: { sessions: number } }>(name, "stats", app);
    if (stats.value.value.sessions !== size - expired) {
      throw new Error(`${app} holds ${stats.value.value.sessions} sessions after the sweep`);
    }
    record(`sweep_expired_per_s_${label}`, perSecond);
    record(`sweep_rows_read_per_expired_${label}`, readPer);
    record(`sweep_rows_written_per_expired_${label}`, writtenPer);
    log(`  sweep ${label}: ${((Date.now() - t) / 1000).toFixed(1)} s with seeding`);
  }
}

/** Rows read per expired session flat from the smallest to the largest store (within 25 %). */
export function sweepFlatness(plan: Plan): { text: string; met: boolean; ratio: number } {
  const sizes = plan.sweepSizes.map((s) => `${s / 1000}k`);
  const first = metrics[`sweep_rows_read_per_expired_${sizes[0]}`] ?? Number.NaN;
  const last = metrics[`sweep_rows_read_per_expired_${sizes.at(-1)}`] ?? Number.NaN;
  const ratio = last / first;
  return { text: `flat ${sizes[0]} -> ${sizes.at(-1)} (within 25%)`, met: ratio <= 1.25, ratio };
}
