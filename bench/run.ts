// `npm run bench` (a few minutes) and `npm run bench -- --quick` (under a minute): the edge
// sessions benchmarks. It bundles bench/worker.ts (the real worker and Durable Object, plus
// bench routes), runs it in workerd through Miniflare on 127.0.0.1, drives Durable Object RPC
// from inside workerd, loads the HTTP API and an express-session + connect-redis + Redis app
// from a separate autocannon process, and counts SQLite rows with the object's usage() RPC.
// Every comparison is a ratio of two figures measured in the same run; each figure is the
// median of several runs. Writes bench/results/latest.json and prints a table.
// See BENCHMARKS.md for what each figure means.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LocalWorker, startLocalWorker } from "./workerd.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
/** `-- --only <word>`: run only the phases whose title contains the word (figures of the rest are left out). */
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;

/** How much of everything: full (a few minutes) or quick (under a minute). */
const plan = quick
  ? {
      runs: 3,
      rpcOps: 2_000,
      diagOps: 2_000,
      shardOps: 2_000,
      httpRuns: 3,
      httpSeconds: 1.5,
      warmupSeconds: 0.5,
      httpProbes: false,
      sweepSizes: [1_000, 10_000],
      sweepRuns: 3,
      reshardSessions: 5_000,
    }
  : {
      runs: 5,
      rpcOps: 10_000,
      diagOps: 10_000,
      shardOps: 8_000,
      httpRuns: 5,
      httpSeconds: 4,
      warmupSeconds: 1,
      httpProbes: true,
      sweepSizes: [1_000, 10_000, 100_000],
      sweepRuns: 3,
      reshardSessions: 20_000,
    };
/** Calls (or connections) in flight at once, for every throughput figure. */
const CONCURRENCY = 32;
/** The lost-update test: clients, each incrementing one shared counter this many times. */
const LOST_CLIENTS = 8;
const LOST_INCREMENTS = 25;
/** Keys the shard test spreads gets over. */
const SHARD_KEYS = 64;
/** A time far in the future (seconds), so that no alarm the bench arms fires on its own. */
const T0 = 4_000_000_000;
/** Default app settings (docs/DESIGN.md#settings): timeout 1200 s, period 20 s. */
const TIMEOUT = 1200;
const PERIOD = 20;

const token = randomBytes(16).toString("hex");
const auth = { Authorization: `Bearer ${token}` };

// ---------------------------------------------------------------------------------------------
// Processes: everything started here is stopped in `cleanup`, also on Ctrl-C.

const children: ChildProcess[] = [];
let local: LocalWorker | undefined;

async function cleanup(): Promise<void> {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = running.map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        setTimeout(resolve, 5_000).unref();
      }),
  );
  for (const child of running) {
    // The redis wrapper stops redis-server when its stdin closes; the others on SIGTERM.
    child.stdin?.end();
    child.kill("SIGTERM");
  }
  await Promise.all(exited);
  const current = local;
  local = undefined;
  await current?.dispose();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the first stdout line that matches, or rejects when the process exits first. */
function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  what: string,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = buffer.match(pattern);
      if (match) resolve(match);
    });
    child.on("exit", (code) => reject(new Error(`${what} exited (${code}): ${errors.trim()}`)));
    setTimeout(() => reject(new Error(`${what} did not start in 20 s`)), 20_000).unref();
  });
}

/**
 * redis-server on a random 127.0.0.1 port, no persistence. It runs under a shell that kills it
 * when our pipe to its stdin closes, so it stops with this process even if this one is killed.
 */
async function startRedis(): Promise<number> {
  const port = await freePort();
  // SIGTERM to the shell, or the end of its stdin, stops redis-server and waits for it.
  const command =
    `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no ` +
    "--protected-mode yes --loglevel warning & pid=$!; " +
    `trap 'kill "$pid" 2>/dev/null; wait "$pid"; exit 0' TERM INT; ` +
    `until redis-cli -p ${port} ping >/dev/null 2>&1; do sleep 0.05; done; echo ready; ` +
    // (A background job's stdin is /dev/null: read ours through fd 3.)
    'exec 3<&0; cat <&3 >/dev/null & wait $!; kill "$pid"; wait "$pid"';
  const child = spawn("sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  await waitForLine(child, /ready/, "redis-server");
  return port;
}

async function startExpress(redisPort: number): Promise<string> {
  const child = spawn(process.execPath, [join(root, "bench/express-app.ts"), String(redisPort)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const [, port] = await waitForLine(child, /listening (\d+)/, "the express app");
  return `http://127.0.0.1:${port}`;
}

interface LoadResult {
  requestsPerSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p99: number };
}

/** autocannon in its own process against `url`. */
async function load(
  url: string,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const spec = JSON.stringify({ url, connections: CONCURRENCY, duration: seconds, headers });
  const child = spawn(process.execPath, [join(root, "bench/load.ts"), spec], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const [line] = await waitForLine(child, /^\{.*\}$/m, "autocannon");
  await new Promise((resolve) =>
    child.exitCode === null ? child.on("exit", resolve) : resolve(0),
  );
  const result = JSON.parse(line) as LoadResult;
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`load on ${url}: ${result.non2xx} non-2xx responses, ${result.errors} errors`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// workerd

let base = "";

async function startWorkerd(): Promise<void> {
  const worker = await startLocalWorker({
    root,
    entry: "bench/worker.ts",
    name: "bench",
    bindings: { SESSIONS_API_TOKEN: token, ENVIRONMENT: "bench" },
    durableObjects: {
      SESSION_MANAGER: { className: "BenchSessionManagerObject", useSQLite: true },
    },
    queueProducers: { SESSION_EVENTS: { queueName: "edge-sessions-events" } },
  });
  local = worker;
  base = worker.base;
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

interface Usage {
  rowsRead: number;
  rowsWritten: number;
}

/** One RPC call on the object `name`; its value and the ms it took inside workerd. */
async function call<T>(name: string, method: string, ...args: unknown[]) {
  const out = await post<{ value: T; elapsedMs: number }>("/bench/call", { name, method, args });
  const value = out.value as unknown as { ok?: boolean; error?: { message: string } };
  if (value !== null && typeof value === "object" && value.ok === false) {
    throw new Error(`${method} on ${name}: ${value.error?.message}`);
  }
  return out;
}

/** The Durable Object names that hold `keys` of `app` with `shards` (objectName, in workerd). */
async function objectsOf(app: string, keys: string[], shards = 1): Promise<Map<string, string[]>> {
  const names = await post<Record<string, string[]>>("/bench/names", { app, keys, shards });
  return new Map(Object.entries(names));
}

/** The one object of an app with one shard. */
async function objectOf(app: string): Promise<string> {
  const [name] = (await objectsOf(app, [""])).keys();
  if (name === undefined) throw new Error(`no object for ${app}`);
  return name;
}

async function usage(name: string): Promise<Usage> {
  return (await call<Usage>(name, "usage")).value;
}

function delta(before: Usage, after: Usage): Usage {
  return {
    rowsRead: after.rowsRead - before.rowsRead,
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}

interface LoopResult {
  ops: number;
  elapsedMs: number;
  opsPerSecond: number;
  errors: number;
  firstError?: string;
}

async function rpcLoop(spec: {
  op: "get" | "ping" | "commit" | "probe" | "router-get";
  app: string;
  keys: string[];
  n: number;
  shards?: number;
  routing?: "derive" | "name" | "fixed";
  probe?: "none" | "sql" | "sql-tx" | "sql-json" | "sql-write" | "result" | "result-json";
  concurrency?: number;
}): Promise<LoopResult> {
  const result = await post<LoopResult>("/bench/rpc", { concurrency: CONCURRENCY, ...spec });
  if (result.errors > 0)
    throw new Error(`${spec.op} loop: ${result.errors} errors, e.g. ${result.firstError}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Figures

const metrics: Record<string, number> = {};
const runs: Record<string, number[]> = {};
const notes: string[] = [];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Records the runs of a figure and its median. */
function record(name: string, values: number[]): number {
  runs[name] = values;
  metrics[name] = median(values);
  return metrics[name];
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Runs each measurement once per run, in an order that rotates from run to run, so that none is
 * always first (after a pause) or last; returns each one's results by name.
 */
async function rotated(
  runs: number,
  measures: Record<string, () => Promise<number>>,
): Promise<Record<string, number[]>> {
  const names = Object.keys(measures);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length] as string;
      out[name]?.push(await (measures[name] as () => Promise<number>)());
    }
  }
  return out;
}

/** The ratio a/b of two series measured run by run. */
function ratios(a: number[] | undefined, b: number[] | undefined): number[] {
  return (a ?? []).map((v, i) => v / ((b ?? [])[i] as number));
}

/**
 * DO RPC: get of a live session and commit of a one-key change, against the empty ping(); and
 * the commit against the cheapest call that writes (one row, no session rules).
 */
async function benchRpc(): Promise<void> {
  const app = "rpc";
  const name = await objectOf(app);
  await call(name, "setClock", T0);
  await call(name, "seed", app, { keys: ["k"] }, { n: 0 });
  const commitKeys = Array.from({ length: CONCURRENCY }, (_, i) => `c${i}`);
  await call(name, "seed", app, { keys: commitKeys }, { n: 0 });
  const n = plan.rpcOps;
  // Warm up the isolate and the object.
  for (const op of ["ping", "get", "commit"] as const) {
    await rpcLoop({ op, app, keys: op === "commit" ? commitKeys : ["k"], n: Math.min(n, 1000) });
  }
  const ops = (op: "ping" | "get" | "commit") => async () =>
    (
      await rpcLoop(
        // Commits are about 7x slower than pings: a quarter as many keeps the phase short.
        op === "commit" ? { op, app, keys: commitKeys, n: n / 4 } : { op, app, keys: ["k"], n },
      )
    ).opsPerSecond;
  // The floor of any call that writes: one row written to a bench table, nothing else.
  const write = async () =>
    (await rpcLoop({ op: "probe", probe: "sql-write", app, keys: ["k"], n: n / 4 })).opsPerSecond;
  const runs = await rotated(plan.runs, {
    noop: ops("ping"),
    get: ops("get"),
    commit: ops("commit"),
    write,
  });
  record("rpc_noop_ops_per_s", runs.noop ?? []);
  record("rpc_get_ops_per_s", runs.get ?? []);
  record("rpc_commit_ops_per_s", runs.commit ?? []);
  record("get_vs_noop_rpc_ratio", ratios(runs.get, runs.noop));
  record("commit_vs_noop_rpc_ratio", ratios(runs.commit, runs.noop));
  record("rpc_one_row_write_ops_per_s", runs.write ?? []);
  record("commit_vs_one_row_write_ratio", ratios(runs.commit, runs.write));
}

/**
 * Where the time of a get and a commit goes, each figure against ping() in the same run: a call
 * with a get's arguments that does nothing, the get's result returned as it is and as one JSON string (no session rules), the row's SELECT
 * (bypassing the store's cache), the SELECT with its data parsed and returned, one row written
 * to a bench table; ping and commit one at a time; and the in-process cost of a get, a commit
 * and a SELECT (many in one call, so without an RPC or a storage commit each).
 */
async function benchDiagnostics(): Promise<void> {
  const app = "diag";
  const name = await objectOf(app);
  await call(name, "setClock", T0);
  await call(name, "seed", app, { keys: ["k", "c", "c1"] }, { n: 0 });
  const n = plan.diagOps;
  const keys = ["k"];
  const probes = ["none", "result", "result-json", "sql", "sql-json", "sql-write"] as const;
  for (const probe of probes) await rpcLoop({ op: "probe", probe, app, keys, n: 500 });
  const one = { app, n: n / 10, concurrency: 1 };
  const measures: Record<string, () => Promise<number>> = {
    ping: async () => (await rpcLoop({ op: "ping", app, keys, n })).opsPerSecond,
    get: async () => (await rpcLoop({ op: "get", app, keys, n })).opsPerSecond,
    ping_c1: async () => (await rpcLoop({ ...one, op: "ping", keys })).opsPerSecond,
    commit_c1: async () => (await rpcLoop({ ...one, op: "commit", keys: ["c1"] })).opsPerSecond,
  };
  for (const probe of probes) {
    measures[probe] = async () =>
      (await rpcLoop({ op: "probe", probe, app, keys, n })).opsPerSecond;
  }
  const series = await rotated(plan.runs, measures);
  for (const label of ["get", ...probes]) {
    record(`diag_rpc_${label.replace("-", "_")}_vs_noop_ratio`, ratios(series[label], series.ping));
  }
  record("diag_rpc_noop_c1_ops_per_s", series.ping_c1 ?? []);
  record("diag_rpc_commit_c1_ops_per_s", series.commit_c1 ?? []);
  record("diag_rpc_commit_c1_vs_noop_c1_ratio", ratios(series.commit_c1, series.ping_c1));

  // Enough of each for tens of milliseconds: workerd's clock moves in whole milliseconds.
  const counts = { get: n * 20, commit: n / 2, sql: n * 2 };
  for (const kind of ["get", "commit", "sql"] as const) {
    const micros: number[] = [];
    for (let r = 0; r < plan.runs; r++) {
      const key = kind === "commit" ? "c" : "k";
      const out = await call<number>(name, "repeat", kind, app, key, counts[kind]);
      micros.push((out.elapsedMs * 1000) / counts[kind]);
    }
    record(`diag_in_process_${kind}_us`, micros);
  }
}

/** Rows read and written per read within a period, per commit, per created session. */
async function benchRows(): Promise<void> {
  const app = "rows";
  const name = await objectOf(app);
  await call(name, "setClock", T0);
  let before = await usage(name);
  const created = 1_000;
  await call(name, "seed", app, { prefix: "r", count: created }, { n: 0 });
  let used = delta(before, await usage(name));
  record("rows_written_per_created_session", [used.rowsWritten / created]);

  // Reads within the period of the last access: no write at all (docs/DESIGN.md#access-and-touch).
  await call(name, "setClock", T0 + PERIOD / 2);
  const reads = 2_000;
  before = await usage(name);
  await rpcLoop({ op: "get", app, keys: ["r0", "r1", "r2", "r3"], n: reads });
  used = delta(before, await usage(name));
  record("rows_written_per_read_in_period", [used.rowsWritten / reads]);
  record("rows_read_per_read", [used.rowsRead / reads]);

  // The first read in a new period moves the slice: one write per session per period.
  await call(name, "setClock", T0 + PERIOD);
  before = await usage(name);
  await rpcLoop({ op: "get", app, keys: ["r0", "r1", "r2", "r3"], n: reads });
  used = delta(before, await usage(name));
  record("rows_written_per_session_first_read_in_new_period", [used.rowsWritten / 4]);

  const commits = 2_000;
  const keys = Array.from({ length: CONCURRENCY }, (_, i) => `r${100 + i}`);
  before = await usage(name);
  await rpcLoop({ op: "commit", app, keys, n: commits });
  used = delta(before, await usage(name));
  // The loop first reads each worker's session once (a get), then commits.
  record("rows_written_per_commit", [used.rowsWritten / commits]);
  record("rows_read_per_commit", [(used.rowsRead - keys.length) / commits]);
}

/** The sweep at 1k, 10k, 100k stored sessions, 10% of them expired. */
async function benchSweep(): Promise<void> {
  const later = T0 + TIMEOUT + 2 * PERIOD; // sessions last touched at T0 have expired by now
  for (const size of plan.sweepSizes) {
    const label = size >= 1000 ? `${size / 1000}k` : String(size);
    const app = `sweep-${label}`;
    const name = await objectOf(app);
    const expired = size / 10;
    const t = Date.now();
    await call(name, "setClock", later);
    await call(name, "seed", app, { prefix: "live", count: size - expired }, { n: 1 });
    const perSecond: number[] = [];
    const readPer: number[] = [];
    const writtenPer: number[] = [];
    for (let r = 0; r < plan.sweepRuns; r++) {
      await call(name, "setClock", T0);
      await call(name, "seed", app, { prefix: `old${r}-`, count: expired }, { n: 1 });
      await call(name, "setClock", later);
      const before = await usage(name);
      const swept = await call<{ ok: true; value: number }>(name, "sweep", app);
      const used = delta(before, await usage(name));
      if (swept.value.value !== expired) {
        throw new Error(`sweep of ${app} ended ${swept.value.value}, expected ${expired}`);
      }
      perSecond.push((expired / Math.max(swept.elapsedMs, 1)) * 1000);
      readPer.push(used.rowsRead / expired);
      writtenPer.push(used.rowsWritten / expired);
    }
    const stats = await call<{ ok: true; value: { sessions: number } }>(name, "stats", app);
    if (stats.value.value.sessions !== size - expired) {
      throw new Error(`${app} holds ${stats.value.value.sessions} sessions after the sweep`);
    }
    record(`sweep_expired_per_s_${label}`, perSecond);
    record(`sweep_rows_read_per_expired_${label}`, readPer);
    record(`sweep_rows_written_per_expired_${label}`, writtenPer);
    log(`  sweep ${label}: ${((Date.now() - t) / 1000).toFixed(1)} s with seeding`);
  }
  runs.sweep_rows_read_per_expired = runs.sweep_rows_read_per_expired_10k ?? [];
  metrics.sweep_rows_read_per_expired = metrics.sweep_rows_read_per_expired_10k ?? Number.NaN;
  runs.rows_written_per_ended_session = runs.sweep_rows_written_per_expired_10k ?? [];
  metrics.rows_written_per_ended_session = metrics.sweep_rows_written_per_expired_10k ?? Number.NaN;
}

/** Gets over 1 object vs over 4 named by objectName(app, key, 4); derived vs fixed stubs. */
async function benchShards(): Promise<void> {
  const keys = Array.from({ length: SHARD_KEYS }, (_, i) => `u${i}`);
  const clock = Math.floor(Date.now() / 1000);
  for (const [app, shards] of [
    ["shard1", 1],
    ["shard4", 4],
  ] as const) {
    const byObject = await objectsOf(app, keys, shards);
    if (byObject.size !== shards) throw new Error(`${app}: keys over ${byObject.size} objects`);
    for (const [name, own] of byObject) {
      await call(name, "setClock", clock);
      await call(name, "seed", app, { keys: own }, { n: 0 });
    }
  }
  const n = plan.shardOps;
  await rpcLoop({ op: "get", app: "shard4", keys, n: 1000, shards: 4, routing: "derive" });
  const gets = (app: string, shards: number, routing: "derive" | "name" | "fixed") => async () =>
    (await rpcLoop({ op: "get", app, keys, n, shards, routing })).opsPerSecond;
  const runs = await rotated(plan.runs, {
    one: gets("shard1", 1, "derive"),
    four: gets("shard4", 4, "derive"),
    fourFixed: gets("shard4", 4, "fixed"),
    fourName: gets("shard4", 4, "name"),
  });
  record("shards_1_ops_per_s", runs.one ?? []);
  record("shards_4_ops_per_s", runs.four ?? []);
  record("shards_4_fixed_stub_ops_per_s", runs.fourFixed ?? []);
  record("shards_4_vs_1_ratio", ratios(runs.four, runs.one));
  record("shard_routing_overhead_ratio", ratios(runs.four, runs.fourFixed));
  // The part of that overhead that is the name (hash) alone, stubs cached by name.
  record("shard_routing_name_only_ratio", ratios(runs.fourName, runs.fourFixed));
}

/** An app of `count` sessions in one object (the real commit path), on the real clock. */
async function seedReshardApp(app: string, count: number): Promise<void> {
  const res = await fetch(`${base}/v1/apps/${app}`, {
    method: "PUT",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ shards: 1 }),
  });
  if (!res.ok) throw new Error(`PUT ${app}: ${res.status} ${await res.text()}`);
  for (let start = 0; start < count; start += 2_000) {
    const n = Math.min(2_000, count - start);
    await call(app, "seed", app, { prefix: "s", start, count: n }, { n: 0, user: "u".repeat(40) });
  }
}

/** The app's layout as its stats give it. */
async function layoutOf(app: string): Promise<{ shards: number; from: number | null }> {
  const res = await fetch(`${base}/v1/apps/${app}`, { headers: auth });
  return ((await res.json()) as { layout: { shards: number; from: number | null } }).layout;
}

async function reshard(app: string, shards: number): Promise<void> {
  const res = await fetch(`${base}/v1/apps/${app}`, {
    method: "PUT",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ shards }),
  });
  if (!res.ok) throw new Error(`PUT ${app} shards ${shards}: ${res.status}`);
  await res.arrayBuffer();
}

/**
 * Resharding (docs/DESIGN.md#resharding), 1 -> 4 shards: a move with no traffic (sessions moved per
 * second by the alarms, rows written per moved session, over all objects), and a move under reads
 * through the worker's router (read throughput during the move against before it, same keys).
 */
async function benchResharding(): Promise<void> {
  const count = plan.reshardSessions;
  const objects = (app: string) => [app, ...Array.from({ length: 4 }, (_, i) => `${app}#${i}`)];
  const written = async (app: string) => {
    let rows = 0;
    for (const name of objects(app)) rows += (await usage(name)).rowsWritten;
    return rows;
  };
  const movedIn = async (app: string) => {
    let moved = 0;
    for (const name of objects(app)) {
      const stats = await call<{ value: { moved?: { in: number } } }>(name, "stats", app);
      moved += stats.value.value.moved?.in ?? 0;
    }
    return moved;
  };
  const until = async (app: string, limitSeconds = 300) => {
    const started = Date.now();
    for (;;) {
      const layout = await layoutOf(app);
      if (layout.from === null) return (Date.now() - started) / 1000;
      if (Date.now() - started > limitSeconds * 1000) throw new Error(`${app}: the move hangs`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const quiet = "reshard-quiet";
  await seedReshardApp(quiet, count);
  const before = await written(quiet);
  const t = Date.now();
  await reshard(quiet, 4);
  await until(quiet);
  const seconds = (Date.now() - t) / 1000;
  const moved = await movedIn(quiet);
  if (moved !== count) throw new Error(`${quiet}: ${moved} sessions moved, expected ${count}`);
  const rows = (await written(quiet)) - before;
  record("reshard_sessions_moved_per_s", [count / seconds]);
  record("reshard_rows_written_per_moved_session", [rows / count]);
  record("reshard_move_seconds", [seconds]);
  notes.push(
    `resharding: ${count} sessions of 60 bytes moved 1 -> 4 shards in ${seconds.toFixed(1)} s with no traffic`,
  );

  const busy = "reshard-busy";
  await seedReshardApp(busy, count);
  const keys = Array.from({ length: 2_000 }, (_, i) => `s${Math.floor((i * count) / 2_000)}`);
  const loop = async () =>
    (await rpcLoop({ op: "router-get", app: busy, keys, n: 2_000 })).opsPerSecond;
  await loop();
  const quietRuns: number[] = [];
  for (let r = 0; r < plan.runs; r++) quietRuns.push(await loop());
  await reshard(busy, 4);
  const moving = until(busy).then((s) => ({ s }));
  const duringRuns: number[] = [];
  let done: { s: number } | undefined;
  void moving.then((d) => {
    done = d;
  });
  while (done === undefined) duringRuns.push(await loop());
  record("reshard_read_ops_per_s_before", quietRuns);
  record("reshard_read_ops_per_s_during", duringRuns);
  record("reshard_read_during_vs_before_ratio", [median(duringRuns) / median(quietRuns)]);
  record("reshard_move_under_reads_seconds", [done.s]);
}

/** The worker over HTTP vs a constant route vs express-session + connect-redis + Redis. */
async function benchHttp(expressUrl: string): Promise<void> {
  // A stored session to read, created through the API itself.
  const sessionUrl = `${base}/v1/apps/bench/sessions/k`;
  const got = await fetch(sessionUrl, { method: "POST", headers: auth });
  const snapshot = (await got.json()) as { version: number; sid: string | null };
  const patched = await fetch(sessionUrl, {
    method: "PATCH",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ version: snapshot.version, sid: snapshot.sid, set: { counter: 1 } }),
  });
  if (!patched.ok)
    throw new Error(`PATCH ${sessionUrl}: ${patched.status} ${await patched.text()}`);
  const read = await fetch(sessionUrl, { headers: auth });
  if (!read.ok) throw new Error(`GET ${sessionUrl}: ${read.status} ${await read.text()}`);
  await read.arrayBuffer();

  const started = await fetch(`${expressUrl}/reset`);
  const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (!cookie.startsWith("connect.sid=")) throw new Error("the express app set no session cookie");
  const check = (await (await fetch(expressUrl, { headers: { Cookie: cookie } })).json()) as {
    counter: number | null;
  };
  if (check.counter !== 0) throw new Error("the express app did not keep its session");

  // Same connections and duration for each; they take turns within every run.
  const targets: Record<string, [string, Record<string, string>]> = {
    plain: [`${base}/healthz`, {}],
    read: [sessionUrl, auth],
    express: [`${expressUrl}/`, { Cookie: cookie }],
  };
  if (plan.httpProbes) {
    // The read in parts: the bearer auth alone, the DO query alone (bench/worker.ts).
    targets.auth = [`${base}/bench-http/auth`, auth];
    targets.query = [`${base}/bench-http/query/bench/k`, {}];
  }
  for (const [url, headers] of Object.values(targets)) {
    await load(url, plan.warmupSeconds, headers);
  }
  const p50: Record<string, number[]> = {};
  const measures: Record<string, () => Promise<number>> = {};
  for (const [label, [url, headers]] of Object.entries(targets)) {
    measures[label] = async () => {
      const result = await load(url, plan.httpSeconds, headers);
      p50[label] = [...(p50[label] ?? []), result.latencyMs.p50];
      return result.requestsPerSecond;
    };
  }
  const rps = await rotated(plan.httpRuns, measures);
  const plain = rps.plain ?? [];
  const reads = rps.read ?? [];
  const express = rps.express ?? [];
  record("http_plain_req_per_s", plain);
  record("http_read_req_per_s", reads);
  record("express_redis_read_req_per_s", express);
  record("http_read_vs_plain_ratio", ratios(reads, plain));
  record("http_read_vs_express_redis_ratio", ratios(reads, express));
  if (plan.httpProbes) {
    record("diag_http_auth_vs_plain_ratio", ratios(rps.auth, plain));
    record("diag_http_query_no_auth_vs_plain_ratio", ratios(rps.query, plain));
  }
  record("http_plain_p50_ms", p50.plain ?? []);
  record("http_read_p50_ms", p50.read ?? []);
  record("express_redis_read_p50_ms", p50.express ?? []);
}

/** N clients incrementing one shared counter M times each: ours (versions, 409, retry) vs express. */
async function benchLostUpdates(expressUrl: string): Promise<void> {
  const url = `${base}/v1/apps/lost/sessions/counter`;
  const json = { ...auth, "Content-Type": "application/json" };
  const fresh = (await (await fetch(url, { method: "POST", headers: auth })).json()) as {
    version: number;
    sid: string | null;
  };
  const start = await fetch(url, {
    method: "PATCH",
    headers: json,
    body: JSON.stringify({ version: fresh.version, sid: fresh.sid, set: { counter: 0 } }),
  });
  if (!start.ok) throw new Error(`PATCH ${url}: ${start.status}`);
  await start.arrayBuffer();

  let conflicts = 0;
  await Promise.all(
    Array.from({ length: LOST_CLIENTS }, async () => {
      for (let i = 0; i < LOST_INCREMENTS; i++) {
        for (let attempt = 0; ; attempt++) {
          if (attempt > 1000) throw new Error("an increment kept conflicting");
          const response = await fetch(url, { headers: auth });
          const session = (await response.json()) as {
            version: number;
            sid: string;
            data: { counter: number };
          };
          const patched = await fetch(url, {
            method: "PATCH",
            headers: json,
            body: JSON.stringify({
              version: session.version,
              sid: session.sid,
              set: { counter: session.data.counter + 1 },
            }),
          });
          await patched.arrayBuffer();
          if (patched.status === 409) {
            conflicts++;
            continue;
          }
          if (!patched.ok) throw new Error(`PATCH ${url}: ${patched.status}`);
          break;
        }
      }
    }),
  );
  const final = (await (await fetch(url, { headers: auth })).json()) as {
    data: { counter: number };
  };
  const expected = LOST_CLIENTS * LOST_INCREMENTS;
  record("lost_updates_ours", [expected - final.data.counter]);
  record("lost_updates_ours_conflicts_retried", [conflicts]);

  const started = await fetch(`${expressUrl}/reset`);
  const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  await started.arrayBuffer();
  await Promise.all(
    Array.from({ length: LOST_CLIENTS }, async () => {
      for (let i = 0; i < LOST_INCREMENTS; i++) {
        const response = await fetch(`${expressUrl}/incr`, { headers: { Cookie: cookie } });
        if (!response.ok) throw new Error(`express /incr: ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
  const after = (await (await fetch(expressUrl, { headers: { Cookie: cookie } })).json()) as {
    counter: number;
  };
  record("lost_updates_express_redis", [expected - after.counter]);
}

// ---------------------------------------------------------------------------------------------
// Goals, table, JSON

interface Goal {
  metric: string;
  text: string;
  met: (value: number) => boolean;
}

const goals: Goal[] = [
  { metric: "get_vs_noop_rpc_ratio", text: ">= 0.85", met: (v) => v >= 0.85 },
  { metric: "commit_vs_noop_rpc_ratio", text: ">= 0.7", met: (v) => v >= 0.7 },
  { metric: "rows_written_per_read_in_period", text: "= 0", met: (v) => v === 0 },
  { metric: "lost_updates_ours", text: "= 0", met: (v) => v === 0 },
];

/** Rows read per expired session flat from the smallest to the largest store (within 25%). */
function sweepFlatness(): { text: string; met: boolean; ratio: number } {
  const sizes = plan.sweepSizes.map((s) => `${s / 1000}k`);
  const first = metrics[`sweep_rows_read_per_expired_${sizes[0]}`] ?? Number.NaN;
  const last = metrics[`sweep_rows_read_per_expired_${sizes.at(-1)}`] ?? Number.NaN;
  const ratio = last / first;
  return { text: `flat ${sizes[0]} -> ${sizes.at(-1)} (within 25%)`, met: ratio <= 1.25, ratio };
}

/** The commit measured, and the project files that differed from it (others edit too). */
function sourceState(): { commit: string; changedFiles: string[] } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" });
  try {
    // Porcelain lines are "XY path": the status takes the first three characters.
    const changed = git("status", "--porcelain", "--", "src", "worker", "durable-objects", "bench");
    return {
      commit: git("rev-parse", "HEAD").trim(),
      changedFiles: changed
        .split("\n")
        .filter((line) => line.length > 3)
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: "unknown", changedFiles: [] };
  }
}

function packageVersion(from: string, name: string): string {
  try {
    const require = createRequire(from);
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/**
 * The express-session comparison needs a real Redis (Debian's redis-server). As root on Debian,
 * install it (a fresh clone then runs the bench with no manual step); otherwise say how.
 */
function installRedis(): void {
  const root = process.getuid?.() === 0;
  if (root && hasCommand("apt-get")) {
    log("redis-server is missing: installing it with apt-get (Debian's package) ...");
    try {
      execFileSync("sh", ["-c", "apt-get update -qq && apt-get install -y -qq redis-server"], {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    } catch {
      // Reported below.
    }
    if (hasCommand("redis-server") && hasCommand("redis-cli")) return;
  }
  console.error(
    "The benchmark needs Redis for the express-session comparison, and redis-server is not " +
      "installed. Install it with: apt-get install -y redis-server",
  );
  process.exit(1);
}

async function main(): Promise<void> {
  if (!hasCommand("redis-server") || !hasCommand("redis-cli")) installRedis();
  const began = Date.now();
  const miniflareEntry = createRequire(import.meta.url).resolve("miniflare");
  const machine = {
    cores: os.availableParallelism(),
    nproc: execFileSync("nproc").toString().trim(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    workerd: packageVersion(miniflareEntry, "workerd"),
    miniflare: packageVersion(import.meta.url, "miniflare"),
    redis: execFileSync("redis-server", ["--version"]).toString().trim(),
  };
  log(
    `edge sessions bench (${quick ? "quick" : "full"}) on ${machine.nproc} cores, node ${machine.node}, workerd ${machine.workerd}`,
  );

  await startWorkerd();
  const redisPort = await startRedis();
  const expressUrl = await startExpress(redisPort);

  const phases: [string, () => Promise<void>][] = [
    ["DO RPC: ping, get, commit", benchRpc],
    ["where a get's time goes", benchDiagnostics],
    ["rows per operation", benchRows],
    ["sweep", benchSweep],
    ["shards", benchShards],
    ["resharding: moving sessions 1 -> 4 shards", benchResharding],
    ["HTTP: plain, read, express + redis", () => benchHttp(expressUrl)],
    ["lost updates", () => benchLostUpdates(expressUrl)],
  ];
  for (const [title, phase] of phases) {
    if (only !== undefined && !title.includes(only)) continue;
    const t = Date.now();
    log(`${title} ...`);
    await phase();
    log(`  done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  const flat = sweepFlatness();
  const measured = (g: { metric: string }) => only === undefined || g.metric in metrics;
  const goalResults = [
    ...goals.filter(measured).map((g) => ({
      metric: g.metric,
      goal: g.text,
      value: metrics[g.metric] ?? Number.NaN,
      met: g.met(metrics[g.metric] ?? Number.NaN),
    })),
    { metric: "sweep_rows_read_per_expired", goal: flat.text, value: flat.ratio, met: flat.met },
  ].filter((g) => only === undefined || Number.isFinite(g.value));
  const output = {
    date: new Date().toISOString(),
    source: sourceState(),
    mode: quick ? "quick" : "full",
    seconds: Math.round((Date.now() - began) / 1000),
    machine,
    plan: {
      ...plan,
      concurrency: CONCURRENCY,
      lostUpdates: { clients: LOST_CLIENTS, increments: LOST_INCREMENTS },
      shardKeys: SHARD_KEYS,
      settings: { timeout: TIMEOUT, period: PERIOD },
    },
    metrics,
    runs,
    goals: goalResults,
    notes,
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  // A partial run (--only) does not replace the full run's figures.
  const file = only === undefined ? "latest.json" : `only-${only.replace(/\W+/g, "-")}.json`;
  writeFileSync(join(root, "bench/results", file), `${JSON.stringify(output, null, 2)}\n`);

  const rows = Object.entries(metrics).map(([name, value]) => [
    name,
    format(value),
    (runs[name] ?? []).map(format).join(" "),
  ]);
  const widths = [0, 1, 2].map((c) =>
    Math.max(...rows.map((r) => (r[c] ?? "").length), ["metric", "median", "runs"][c]?.length ?? 0),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 1 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join("  ");
  console.log(line(["metric", "median", "runs"]));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log("");
  for (const g of goalResults) {
    console.log(`${g.met ? "MET   " : "MISSED"} ${g.metric} ${g.goal}: ${format(g.value)}`);
  }
  const { commit, changedFiles } = output.source;
  const dirty = changedFiles.length > 0 ? ` plus ${changedFiles.length} changed files` : "";
  console.log(
    `\n${output.mode} run in ${output.seconds} s of ${commit.slice(0, 7)}${dirty}; wrote bench/results/${file}`,
  );
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
// Nothing of ours is left running; do not wait for handles that other libraries keep open.
process.exit();
