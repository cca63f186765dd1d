// Durable Object RPC, driven from inside workerd: every ratio is measured as A and B in
// interleaved short slices (see BenchWorker.ab), and is the median of the pair-by-pair ratios.
import type { BenchWorker, CallSpec } from "./driver.ts";
import { record } from "./figures.ts";
import type { Plan } from "./plan.ts";
import { ratios } from "./stats.ts";

/** A time far in the future (seconds), so that no alarm the bench arms fires on its own. */
export const T0 = 4_000_000_000;
/** Calls in flight at once, for every throughput figure. */
export const CONCURRENCY = 32;
/** Keys the shard figures spread gets over. */
export const SHARD_KEYS = 64;

/**
 * Measures A against B in interleaved slices and records both series and their ratio; `aName`
 * and `bName` may be omitted when the series themselves are not figures of their own.
 */
async function compare(
  worker: BenchWorker,
  plan: { pairs: number; sliceMs: number; warmupMs: number },
  ratio: string,
  a: CallSpec,
  b: CallSpec,
  names: { a?: string; b?: string } = {},
): Promise<void> {
  const slices = await worker.ab(a, b, plan);
  if (names.a !== undefined) record(names.a, slices.a);
  if (names.b !== undefined) record(names.b, slices.b);
  record(ratio, ratios(slices.a, slices.b));
}

/**
 * A get (the compact read as the HTTP API makes it, JSON text passed on) and a commit against
 * `ping()`; the object get of RPC clients, and the compact read parsed, against the same; a
 * commit against the cheapest call that writes (one row, no session rules), one and 32 in flight.
 */
export async function benchRpc(worker: BenchWorker, plan: Plan): Promise<void> {
  const app = "rpc";
  const name = await worker.objectOf(app);
  await worker.call(name, "setClock", T0);
  const commitKeys = Array.from({ length: CONCURRENCY }, (_, i) => `c${i}`);
  await worker.call(name, "seed", app, { keys: ["k", "one", "row", ...commitKeys] }, { n: 0 });
  const c32 = { app, concurrency: CONCURRENCY };
  const c1 = { app, concurrency: 1 };
  const ping: CallSpec = { ...c32, op: "ping", keys: ["k"] };
  const write32: CallSpec = { ...c32, op: "probe", probe: "sql-write", keys: ["k"] };
  const commit32: CallSpec = { ...c32, op: "commit", keys: commitKeys };
  const ab = plan.ab;

  await compare(
    worker,
    ab,
    "get_vs_noop_rpc_ratio",
    { ...c32, op: "get-view", keys: ["k"] },
    ping,
    { a: "rpc_get_ops_per_s", b: "rpc_noop_ops_per_s" },
  );
  await compare(
    worker,
    plan.diag,
    "diag_rpc_get_object_vs_noop_ratio",
    { ...c32, op: "get", keys: ["k"] },
    ping,
  );
  await compare(
    worker,
    plan.diag,
    "diag_rpc_get_view_parsed_vs_noop_ratio",
    { ...c32, op: "get-view-parsed", keys: ["k"] },
    ping,
  );
  await compare(
    worker,
    ab,
    "commit_vs_one_row_write_ratio",
    { ...c1, op: "commit", keys: ["one"] },
    { ...c1, op: "probe", probe: "sql-write", keys: ["k"] },
    { a: "rpc_commit_c1_ops_per_s", b: "rpc_one_row_write_c1_ops_per_s" },
  );
  await compare(worker, ab, "commit_c32_vs_one_row_write_c32_ratio", commit32, write32, {
    a: "rpc_commit_ops_per_s",
    b: "rpc_one_row_write_ops_per_s",
  });
  await compare(worker, plan.diag, "commit_vs_noop_rpc_ratio", commit32, ping);
  // What a lone commit pays beyond the write floor, each part alone against that floor.
  const write1: CallSpec = { ...c1, op: "probe", probe: "sql-write", keys: ["k"] };
  for (const [probe, ratio] of [
    ["sql-write-sync", "diag_write_sync_vs_write_ratio"],
    ["sql-write-txn1", "diag_write_txn_vs_write_ratio"],
    ["sql-write-row", "diag_write_row_vs_write_ratio"],
  ] as const) {
    // `row`: a session of its own, which the probe changes behind the object's cache.
    await compare(worker, plan.diag, ratio, { ...c1, op: "probe", probe, keys: ["row"] }, write1);
  }
}

/**
 * Routing: gets through the worker's `SessionRouter` (ids kept per isolate, a stub per call)
 * against stubs looked up once, over 64 keys of an app with 4 shards; `getByName` for every call
 * (the router before it kept ids) against the same; 4 shards against 1.
 */
export async function benchShards(worker: BenchWorker, plan: Plan): Promise<void> {
  const keys = Array.from({ length: SHARD_KEYS }, (_, i) => `u${i}`);
  const clock = Math.floor(Date.now() / 1000);
  for (const [app, shards] of [
    ["shard1", 1],
    ["shard4", 4],
  ] as const) {
    const home = await worker.objectOf(app);
    await worker.call(home, "open", app, { shards });
    const byObject = await worker.objectsOf(app, keys, shards);
    if (byObject.size !== shards) throw new Error(`${app}: keys over ${byObject.size} objects`);
    for (const [name, own] of byObject) {
      await worker.call(name, "setClock", clock);
      if (shards > 1) await worker.call(name, "adopt", app, { shards });
      await worker.call(name, "seed", app, { keys: own }, { n: 0 });
    }
  }
  const gets = (app: string, shards: number, routing: CallSpec["routing"]): CallSpec => ({
    op: "get",
    app,
    keys,
    shards,
    routing,
    concurrency: CONCURRENCY,
  });
  await compare(
    worker,
    plan.ab,
    "shard_routing_overhead_ratio",
    gets("shard4", 4, "router"),
    gets("shard4", 4, "fixed"),
    { a: "shards_4_router_ops_per_s", b: "shards_4_fixed_stub_ops_per_s" },
  );
  await compare(
    worker,
    plan.diag,
    "shard_routing_get_by_name_ratio",
    gets("shard4", 4, "getByName"),
    gets("shard4", 4, "fixed"),
  );
  await compare(
    worker,
    plan.diag,
    "shards_4_vs_1_ratio",
    gets("shard4", 4, "router"),
    gets("shard1", 1, "router"),
  );
}

/**
 * Where the time of a get goes, each part against ping() (interleaved): a call with a get's
 * arguments that does nothing, the get's result returned as an object and as one JSON string
 * (no session rules), the row's SELECT past the cache, the SELECT with its data parsed and
 * returned. Then the in-process cost of a get, a compact get, a commit in a group, and a SELECT
 * (many in one call: no RPC and no storage commit each).
 */
export async function benchDiagnostics(worker: BenchWorker, plan: Plan): Promise<void> {
  const app = "diag";
  const name = await worker.objectOf(app);
  await worker.call(name, "setClock", T0);
  await worker.call(name, "seed", app, { keys: ["k"] }, { n: 0 });
  await worker.call(name, "seed", app, { prefix: "c", count: 128 }, { n: 0 });
  const ping: CallSpec = { op: "ping", app, keys: ["k"], concurrency: CONCURRENCY };
  for (const probe of [
    "none",
    "result",
    "result-json",
    "result-view",
    "result-text",
    "sql",
    "sql-json",
  ] as const) {
    await compare(
      worker,
      plan.diag,
      `diag_rpc_${probe.replace("-", "_")}_vs_noop_ratio`,
      { op: "probe", probe, app, keys: ["k"], concurrency: CONCURRENCY },
      ping,
    );
  }
  // Enough of each for tens of milliseconds: workerd's clock moves in whole milliseconds.
  const counts = { get: 20_000, "get-view": 20_000, commit: 128, sql: 2_000 };
  for (const kind of ["get", "get-view", "commit", "sql"] as const) {
    const micros: number[] = [];
    for (let r = 0; r < plan.inProcessRuns; r++) {
      const key = kind === "commit" ? "c" : "k";
      const out = await worker.call<number>(name, "repeat", kind, app, key, counts[kind]);
      micros.push((out.elapsedMs * 1000) / counts[kind]);
    }
    record(`diag_in_process_${kind.replace("-", "_")}_us`, micros);
  }
}
