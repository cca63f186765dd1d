// Metrics (docs/DESIGN.md#metrics): what counting costs, as reads and commits of an object that
// counts against one that does not (`keepsFigures`), interleaved; and what one metrics read
// costs at 1, 16 and 64 shards (over HTTP, as an operator's scrape reads them), with the rows
// read; and that neither a read within its period nor a metrics read writes a row.
import { type BenchWorker, type CallSpec, delta } from "./driver.ts";
import { record } from "./figures.ts";
import type { Plan } from "./plan.ts";
import { CONCURRENCY } from "./rpc.ts";
import { ratios } from "./stats.ts";

/** The bench object counts nothing in apps whose name starts with this (bench/worker.ts). */
export const NO_FIGURES_PREFIX = "nofig";
/** Sessions per shard of the apps whose metrics read is timed. */
const SESSIONS_PER_SHARD = 200;
/** Metrics reads timed per shard count. */
const READS = 15;

export async function benchMetrics(worker: BenchWorker, plan: Plan): Promise<void> {
  const clock = Math.floor(Date.now() / 1000);
  const commitKeys = Array.from({ length: CONCURRENCY }, (_, i) => `c${i}`);
  const setUp = async (app: string) => {
    const name = await worker.objectOf(app);
    await worker.call(name, "setClock", clock);
    await worker.call(name, "seed", app, { keys: ["k", "one", ...commitKeys] }, { n: 0 });
    return name;
  };
  const on = "figs";
  const off = `${NO_FIGURES_PREFIX}-figs`;
  const onName = await setUp(on);
  await setUp(off);

  const pair = async (ratio: string, spec: (app: string) => CallSpec) => {
    const slices = await worker.ab(spec(on), spec(off), plan.ab);
    record(ratio, ratios(slices.a, slices.b));
  };
  await pair("metrics_on_vs_off_read_ratio", (app) => ({
    op: "get-view",
    app,
    keys: ["k"],
    concurrency: CONCURRENCY,
  }));
  await pair("metrics_on_vs_off_commit_ratio", (app) => ({
    op: "commit",
    app,
    keys: commitKeys,
    concurrency: CONCURRENCY,
  }));
  await pair("metrics_on_vs_off_commit_c1_ratio", (app) => ({
    op: "commit",
    app,
    keys: ["one"],
    concurrency: 1,
  }));

  // Rows: a read within its period, and a metrics read, write none.
  let before = await worker.usage(onName);
  await worker.call(onName, "get", on, "k");
  await worker.call(onName, "metrics", on);
  const used = delta(before, await worker.usage(onName));
  record("metrics_rows_written_by_read_and_metrics_read", [used.rowsWritten]);

  // One metrics read at 1, 16 and 64 shards, over HTTP.
  for (const shards of [1, 16, 64]) {
    const app = `mread${shards}`;
    const home = await worker.objectOf(app);
    await worker.call(home, "setClock", clock);
    await worker.call(home, "open", app, { shards });
    const keys = Array.from({ length: SESSIONS_PER_SHARD * shards }, (_, i) => `m${i}`);
    const byObject = await worker.objectsOf(app, keys, shards);
    for (const [name, own] of byObject) {
      await worker.call(name, "setClock", clock);
      if (shards > 1) await worker.call(name, "adopt", app, { shards });
      await worker.call(name, "seed", app, { keys: own }, { n: 0 });
    }
    const url = `${worker.base}/v1/apps/${app}/metrics`;
    const ms: number[] = [];
    for (let i = 0; i < READS + 2; i++) {
      const t = performance.now();
      const response = await fetch(url, { headers: worker.auth });
      const body = (await response.json()) as { live: number; shards: { missing: string[] } };
      const took = performance.now() - t;
      if (body.live !== keys.length || body.shards.missing.length > 0) {
        throw new Error(`metrics of ${app}: ${body.live} live, missing ${body.shards.missing}`);
      }
      if (i >= 2) ms.push(took); // two warm-up reads
    }
    record(`metrics_read_ms_${shards}_shards`, ms);
    before = await worker.usage(home);
    await worker.call(home, "metrics", app);
    record(`metrics_read_rows_read_home_${shards}_shards`, [
      delta(before, await worker.usage(home)).rowsRead,
    ]);
  }
}
