// `npm run bench` (about 3 minutes) and `npm run bench -- --quick` (about a minute): the edge
// sessions benchmarks. It bundles bench/worker.ts (the real worker and Durable Object, plus
// bench routes), runs it in workerd through Miniflare on 127.0.0.1, drives Durable Object RPC
// from inside workerd, loads the HTTP API and an express-session + connect-redis + Redis app
// from a separate autocannon process, and counts SQLite rows with the object's usage() RPC.
// Every ratio is measured as its two figures in interleaved short slices within one window,
// and reported as the median of the slice-by-slice ratios with its spread; the run says which
// goals it could not judge for noise. Writes bench/results/latest.json and bench/results/
// latest.svg, and prints a table. `--only rpc,shards` runs only the named phases, and writes
// bench/results/only-rpc,shards.json instead, so that it never replaces a full run's figures.
// See BENCHMARKS.md for what each figure means.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeChart } from "./chart.ts";
import { BenchWorker } from "./driver.ts";
import { goals, judge, metrics, runs, spreads, steadiness } from "./figures.ts";
import { benchHttp, benchLostUpdates, LOST_CLIENTS, LOST_INCREMENTS } from "./http.ts";
import { benchMetrics } from "./metrics.ts";
import { FULL, QUICK } from "./plan.ts";
import { ensureRedis, startExpress, startLoad, startRedis, stopAll } from "./processes.ts";
import { benchResharding } from "./resharding.ts";
import { benchDiagnostics, benchRpc, benchShards, CONCURRENCY, SHARD_KEYS } from "./rpc.ts";
import { benchRows, benchSweep, PERIOD, sweepFlatness, TIMEOUT } from "./storage.ts";
import { benchUsers } from "./users.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const onlyAt = process.argv.findIndex((a) => a === "--only" || a.startsWith("--only="));
const onlyText = onlyAt < 0 ? undefined : (process.argv[onlyAt] as string).split("=")[1];
const only = (onlyText ?? (onlyAt < 0 ? undefined : process.argv[onlyAt + 1]))
  ?.split(",")
  .map((s) => s.trim());
const plan = quick ? QUICK : FULL;

let worker: BenchWorker | undefined;

async function cleanup(): Promise<void> {
  await stopAll();
  const current = worker;
  worker = undefined;
  await current?.dispose();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** What a run says besides its figures (latest.json's `notes`). */
const notes: string[] = [];

function note(text: string): void {
  notes.push(text);
}

/** The commit measured, and the project files that differed from it (others edit too). */
function sourceState(): { commit: string; changedFiles: string[] } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" });
  try {
    // Porcelain lines are "XY path": the status takes the first three characters.
    const changed = git("status", "--porcelain", "--", "src", "worker", "durable-object", "bench");
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

export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/** What the runtime allows: a stub, and an id, kept from one request and used in the next. */
async function stubReuse(bench: BenchWorker): Promise<Record<string, string>> {
  await bench.post("/bench/reuse", { name: "reuse" });
  const second = await bench.post<{ keptStub: string; keptId: string }>("/bench/reuse", {
    name: "reuse",
  });
  return { stubKeptAcrossRequests: second.keptStub, idKeptAcrossRequests: second.keptId };
}

async function main(): Promise<void> {
  ensureRedis(log);
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
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  log(
    `edge sessions bench (${quick ? "quick" : "full"}) on ${machine.nproc} cores (load average ${machine.loadAverageAtStart.join(" ")}), node ${machine.node}, workerd ${machine.workerd}`,
  );

  const token = randomBytes(16).toString("hex");
  worker = await BenchWorker.start(root, token);
  const bench = worker;
  const redisPort = await startRedis();
  const expressUrl = await startExpress(root, redisPort);
  const load = await startLoad(root);
  const runtime = await stubReuse(bench);

  const phases: [string, string, () => Promise<void>][] = [
    ["rpc", "DO RPC: get, commit, one-row write, ping (interleaved)", () => benchRpc(bench, plan)],
    ["shards", "routing and shards (interleaved)", () => benchShards(bench, plan)],
    ["diag", "where a get's time goes", () => benchDiagnostics(bench, plan)],
    ["rows", "rows per operation", () => benchRows(bench)],
    ["sweep", "sweep", () => benchSweep(bench, plan, log)],
    ["http", "HTTP: plain, read, express + redis", () => benchHttp(bench, load, expressUrl, plan)],
    ["lost", "lost updates", () => benchLostUpdates(bench, expressUrl)],
    ["resharding", "resharding 1 -> 4 shards", () => benchResharding(bench, plan, note)],
    ["users", "users: end all, listing, sign-in", () => benchUsers(bench)],
    [
      "metrics",
      "metrics: counting on against off, a metrics read at 1/16/64 shards",
      () => benchMetrics(bench, plan),
    ],
  ];
  for (const [id, title, phase] of phases) {
    if (only !== undefined && !only.includes(id)) continue;
    const t = Date.now();
    log(`${title} ...`);
    await phase();
    log(`  done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  const goalResults = [
    ...goals.filter((g) => g.metric in metrics).map(judge),
    ...(metrics.sweep_rows_read_per_expired_1k === undefined
      ? []
      : [
          (() => {
            const flat = sweepFlatness(plan);
            return {
              metric: "sweep_rows_read_per_expired",
              goal: flat.text,
              value: flat.ratio,
              verdict: flat.met ? "met" : "missed",
              met: flat.met,
            };
          })(),
        ]),
  ];
  const steady = steadiness();
  const output = {
    date: new Date().toISOString(),
    source: sourceState(),
    mode: quick ? "quick" : "full",
    seconds: Math.round((Date.now() - began) / 1000),
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    plan: {
      ...plan,
      only: only ?? null,
      concurrency: CONCURRENCY,
      lostUpdates: { clients: LOST_CLIENTS, increments: LOST_INCREMENTS },
      shardKeys: SHARD_KEYS,
      settings: { timeout: TIMEOUT, period: PERIOD },
    },
    runtime,
    noise: {
      steady: steady.steady,
      noisyRatios: steady.noisy,
      verdict: steady.steady
        ? "steady: every RPC ratio goal's median is known within ±0.025 (95 %; a multiple within 2.5 % of its value)"
        : `too noisy to judge: ${steady.noisy.join(", ")} moved too much; run again on a quieter machine`,
    },
    metrics,
    spreads,
    runs,
    goals: goalResults,
    notes,
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const stem = only === undefined ? "latest" : `only-${only.join(",")}`;
  writeFileSync(join(root, `bench/results/${stem}.json`), `${JSON.stringify(output, null, 2)}\n`);
  if (only === undefined) writeChart(output, join(root, "bench/results/latest.svg"));

  const rows = Object.entries(metrics).map(([name, value]) => {
    const s = spreads[name];
    const range = s !== undefined && s.n > 1 ? `${format(s.q1)} – ${format(s.q3)}` : "";
    return [name, format(value), range, String(s?.n ?? 1)];
  });
  const heads = ["metric", "median", "IQR", "n"];
  const widths = heads.map((h, c) => Math.max(...rows.map((r) => (r[c] ?? "").length), h.length));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 1 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join("  ");
  console.log(line(heads));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
  console.log("");
  for (const g of goalResults) {
    const ci95 = (g as { ci95?: number }).ci95;
    const ci = ci95 === undefined ? "" : ` (±${format(ci95)})`;
    console.log(
      `${g.verdict.toUpperCase().padEnd(6)} ${g.metric} ${g.goal}: ${format(g.value)}${ci}`,
    );
  }
  console.log(`\nRuntime: ${JSON.stringify(runtime)}`);
  console.log(`Noise: ${output.noise.verdict}`);
  const { commit, changedFiles } = output.source;
  const dirty = changedFiles.length > 0 ? ` plus ${changedFiles.length} changed files` : "";
  console.log(
    `\n${output.mode} run in ${output.seconds} s of ${commit.slice(0, 7)}${dirty}; wrote bench/results/${only === undefined ? "latest.json and latest.svg" : `${stem}.json`}`,
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
