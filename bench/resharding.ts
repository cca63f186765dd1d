// Resharding (docs/DESIGN.md#resharding), 1 -> 4 shards: a move with no traffic (sessions moved
// per second by the alarms, rows written per moved session, over all objects), and a move under
// reads through a router (read throughput during the move against before it, same keys, each
// slice paired with the same reads of a twin app that does not move).
import type { BenchWorker } from "./driver.ts";
import { record } from "./figures.ts";
import type { Plan } from "./plan.ts";
import { median, ratios } from "./stats.ts";

/** Reads in flight at once during the move under reads. */
const READERS = 32;

/** Creates or changes `app` with `shards` over the HTTP API (a new count starts a move). */
async function putApp(bench: BenchWorker, app: string, shards: number): Promise<void> {
  const res = await fetch(`${bench.base}/v1/apps/${app}`, {
    method: "PUT",
    headers: { ...bench.auth, "Content-Type": "application/json" },
    body: JSON.stringify({ shards }),
  });
  if (!res.ok) throw new Error(`PUT ${app} shards ${shards}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** An app of `count` sessions in one object (the real commit path), on the real clock. */
async function seedApp(bench: BenchWorker, app: string, count: number): Promise<void> {
  await putApp(bench, app, 1);
  for (let start = 0; start < count; start += 2_000) {
    const n = Math.min(2_000, count - start);
    await bench.call(
      app,
      "seed",
      app,
      { prefix: "s", start, count: n },
      { n: 0, user: "u".repeat(40) },
    );
  }
}

/**
 * Seconds until the app's layout says nothing moves any more. Asks the home object's `layout`
 * (one call, no storage), not the app's stats: stats count the stored sessions of all five
 * objects (a scan of each table), which every 20 ms took time from the reads measured.
 */
async function untilMoved(bench: BenchWorker, app: string, limitSeconds = 300): Promise<number> {
  const started = Date.now();
  for (;;) {
    const { value } = await bench.call<{ value: { layout: { from: number | null } } }>(
      app,
      "layout",
      app,
    );
    if (value.value.layout.from === null) return (Date.now() - started) / 1000;
    if (Date.now() - started > limitSeconds * 1000) throw new Error(`${app}: the move hangs`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function benchResharding(
  bench: BenchWorker,
  plan: Plan,
  note: (text: string) => void,
): Promise<void> {
  const count = plan.reshardSessions;
  const objects = (app: string) => [app, ...Array.from({ length: 4 }, (_, i) => `${app}#${i}`)];
  const written = async (app: string) => {
    let rows = 0;
    for (const name of objects(app)) rows += (await bench.usage(name)).rowsWritten;
    return rows;
  };
  const movedIn = async (app: string) => {
    let moved = 0;
    for (const name of objects(app)) {
      const stats = await bench.call<{ value: { moved?: { in: number } } }>(name, "stats", app);
      moved += stats.value.value.moved?.in ?? 0;
    }
    return moved;
  };

  const quiet = "reshard-quiet";
  await seedApp(bench, quiet, count);
  const rowsBefore = await written(quiet);
  const t = Date.now();
  await putApp(bench, quiet, 4);
  await untilMoved(bench, quiet);
  const seconds = (Date.now() - t) / 1000;
  const moved = await movedIn(quiet);
  if (moved !== count) throw new Error(`${quiet}: ${moved} sessions moved, expected ${count}`);
  const rows = (await written(quiet)) - rowsBefore;
  record("reshard_sessions_moved_per_s", [count / seconds]);
  record("reshard_rows_written_per_moved_session", [rows / count]);
  record("reshard_move_seconds", [seconds]);
  note(
    `resharding: ${count} sessions of 60 bytes moved 1 -> 4 shards in ${seconds.toFixed(1)} s with no traffic`,
  );

  // The move under reads: the moving app's reads in short slices, each paired with the same
  // reads of a twin app that never moves (same sessions, same keys), in alternating order, as
  // the rest of the bench measures a ratio. Whatever the machine does meanwhile (another
  // process, the drain's share of the one local thread) falls on both slices of a pair alike;
  // what a read pays for the move itself (the redirection, a pull from the old object, the
  // ownership check) falls on the moving app's slice only.
  const busy = "reshard-busy";
  const twin = "reshard-twin";
  await seedApp(bench, busy, count);
  await seedApp(bench, twin, count);
  const keys = Array.from({ length: 2_000 }, (_, i) => `s${Math.floor((i * count) / 2_000)}`);
  const reads = (app: string) => ({
    op: "get" as const,
    app,
    keys,
    concurrency: READERS,
    routing: "router" as const,
  });
  const { sliceMs } = plan.ab;
  const before = await bench.ab(reads(busy), reads(twin), {
    pairs: plan.reshardPairsBefore,
    sliceMs,
    warmupMs: plan.diag.warmupMs,
  });
  const beforePairs = ratios(before.a, before.b);
  await putApp(bench, busy, 4);
  let done: number | undefined;
  const moving = untilMoved(bench, busy).then((s) => {
    done = s;
  });
  const during = { a: [] as number[], b: [] as number[] };
  while (done === undefined) {
    // A few pairs per request, so that the move's end is noticed within a fraction of a second.
    const { a, b } = await bench.ab(reads(busy), reads(twin), { pairs: 4, sliceMs, warmupMs: 0 });
    during.a.push(...a);
    during.b.push(...b);
  }
  await moving;
  const atRest = median(beforePairs);
  record("reshard_read_ops_per_s_before", before.a);
  record("reshard_read_ops_per_s_during", during.a);
  record("reshard_twin_read_ops_per_s_during", during.b);
  record("reshard_read_before_vs_twin_ratio", beforePairs);
  record(
    "reshard_read_during_vs_before_ratio",
    ratios(during.a, during.b).map((r) => r / atRest),
  );
  record("reshard_read_during_vs_before_unpaired_ratio", [median(during.a) / median(before.a)]);
  record("reshard_move_under_reads_seconds", [done ?? Number.NaN]);
}
