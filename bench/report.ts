// `npm run bench:report`: puts a bench run into BENCHMARKS.md. It copies bench/results/
// latest.json to bench/results/recorded.json (the run BENCHMARKS.md shows, kept in the
// repository), draws bench/results/chart.svg from it, and rewrites the parts of BENCHMARKS.md
// between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers with tables of its figures.
// Prose outside the markers is left alone: re-read it against the new figures.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChartInput, writeChart } from "./chart.ts";
import type { Spread } from "./stats.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const results = join(root, "bench/results");

interface Run extends ChartInput {
  seconds: number;
  source: { commit: string; changedFiles: string[] };
  machine: Record<string, unknown> & { loadAverageAtStart?: number[]; loadAverageAtEnd?: number[] };
  runtime?: Record<string, string>;
  noise?: { steady: boolean; verdict: string };
  spreads: Record<string, Spread>;
  goals: { metric: string; goal: string; value: number; ci95?: number; verdict: string }[];
}

/** What each figure is, by group, in the order BENCHMARKS.md lists them. */
const GROUPS: Record<string, [string, string][]> = {
  rpc: [
    ["rpc_noop_ops_per_s", "ops/s of `ping()`, the empty RPC method: the cost of a call"],
    [
      "rpc_get_ops_per_s",
      "ops/s of the compact read of a live session (read in its period: no write) as the HTTP API makes it: `getJson`, one string back, the view's JSON passed on unparsed",
    ],
    ["get_vs_noop_rpc_ratio", "get ÷ ping, slice by slice. **Goal ≥ 0.85**"],
    [
      "diag_rpc_get_object_vs_noop_ratio",
      "`get(app, key)`, the view as an object (as RPC clients read) ÷ ping",
    ],
    [
      "diag_rpc_get_view_parsed_vs_noop_ratio",
      "the compact read parsed by the caller (`JSON.parse` of the view) ÷ ping",
    ],
    ["rpc_commit_c1_ops_per_s", "commits/s of a one-key change, one at a time"],
    [
      "rpc_one_row_write_c1_ops_per_s",
      "ops/s of a bench method that writes one row and nothing else, one at a time",
    ],
    ["commit_vs_one_row_write_ratio", "commit ÷ one-row write, one at a time. **Goal ≥ 0.85**"],
    [
      "rpc_commit_ops_per_s",
      "commits/s, 32 in flight (32 sessions, each against the version its last commit returned)",
    ],
    [
      "rpc_one_row_write_ops_per_s",
      "one-row writes/s, 32 in flight: the floor of calls that each write",
    ],
    [
      "commit_c32_vs_one_row_write_c32_ratio",
      "commit ÷ one-row write, 32 in flight. **Goal ≥ 2** (group commit)",
    ],
    ["commit_vs_noop_rpc_ratio", "commit ÷ ping, 32 in flight (the old goal, kept for comparison)"],
    [
      "diag_write_sync_vs_write_ratio",
      "the write floor and a `storage.sync()` (group commit's watch) ÷ the floor, one at a time",
    ],
    [
      "diag_write_txn_vs_write_ratio",
      "the write floor in a transaction of its own ÷ the floor, one at a time",
    ],
    [
      "diag_write_row_vs_write_ratio",
      "a commit's statement (the session's row, every column) ÷ the floor, one at a time",
    ],
  ],
  shards: [
    [
      "shards_4_router_ops_per_s",
      "gets/s over 64 keys of an app with 4 shards, through `SessionRouter`",
    ],
    ["shards_4_fixed_stub_ops_per_s", "the same gets with stubs looked up once before timing"],
    ["shard_routing_overhead_ratio", "router ÷ fixed stubs. **Goal ≥ 0.95**"],
    [
      "shard_routing_get_by_name_ratio",
      "name + `getByName` for every call ÷ fixed stubs (routing before ids were kept)",
    ],
    ["shards_4_vs_1_ratio", "4 objects ÷ 1 object, both through the router"],
  ],
  rows: [
    [
      "rows_written_per_read_in_period",
      "rows written per read of a session already touched in this period. **Goal = 0**",
    ],
    ["rows_read_per_read", "rows read per such read (0: the store's in-memory cache answered)"],
    [
      "rows_written_per_session_first_read_in_new_period",
      "rows written by the first read of a session in a new period (row + `slice` index)",
    ],
    ["rows_written_per_commit", "rows written per one-key commit, 32 in flight"],
    [
      "rows_read_per_commit",
      "rows read per commit (1: the row's UPDATE reads it; the session itself comes from the cache)",
    ],
    ["rows_written_per_created_session", "rows written to store a new session"],
    [
      "rows_written_same_session_twice_apart",
      "rows written by two commits of one session, one after the other",
    ],
    [
      "rows_written_same_session_twice_grouped",
      "rows written by the same two changes in one group (`commitMany`)",
    ],
    ["rows_written_same_session_twice_grouped_vs_apart", "grouped ÷ apart. **Goal < 1**"],
    [
      "rows_written_per_ended_session",
      "rows written per session the sweep ends (its own run: 1,000 stored, all expired)",
    ],
  ],
  sweep: [
    ["sweep_expired_per_s_1k", "sessions ended per second, 1,000 stored / 100 expired"],
    ["sweep_expired_per_s_10k", "10,000 stored / 1,000 expired"],
    ["sweep_expired_per_s_100k", "100,000 stored / 10,000 expired"],
    [
      "sweep_rows_read_per_expired_1k",
      "rows read per ended session, 1k stored. **Goal: flat 1k → 100k**",
    ],
    ["sweep_rows_read_per_expired_10k", "… 10k stored"],
    ["sweep_rows_read_per_expired_100k", "… 100k stored"],
    ["sweep_rows_written_per_expired_1k", "rows written per ended session, 1k"],
    ["sweep_rows_written_per_expired_10k", "… 10k"],
    ["sweep_rows_written_per_expired_100k", "… 100k"],
  ],
  http: [
    ["http_plain_req_per_s", "req/s of `GET /healthz` (constant JSON, no auth, no storage)"],
    [
      "http_read_req_per_s",
      "req/s of `GET /v1/apps/bench/sessions/k` with the token: the session read",
    ],
    [
      "http_floor_req_per_s",
      "req/s of the read's floor: the same auth, route and router, one empty call (`ping()`) to the session's object, a constant answer",
    ],
    ["http_read_vs_do_ping_ratio", "read ÷ its floor, round by round. **Goal ≥ 0.9**"],
    ["http_read_vs_plain_ratio", "read ÷ plain, round by round"],
    [
      "express_redis_read_req_per_s",
      "req/s of express-session + connect-redis + Redis 7 reading the session",
    ],
    ["http_read_vs_express_redis_ratio", "ours ÷ express + Redis, round by round. **Goal ≥ 1.3**"],
    ["diag_http_auth_vs_plain_ratio", "bearer auth and a constant answer ÷ plain. **Goal ≥ 0.97**"],
    [
      "diag_http_auth_vs_noauth_ratio",
      "the same ÷ the same answer of the same app without the auth (the auth alone)",
    ],
    ["diag_http_noauth_vs_plain_ratio", "that app's constant answer, no auth ÷ plain (`/healthz`)"],
    ["diag_http_query_no_auth_vs_plain_ratio", "the session query over RPC without auth ÷ plain"],
    ["http_plain_p50_ms", "median latency, plain (ms, autocannon resolution)"],
    ["http_read_p50_ms", "median latency, read"],
    ["express_redis_read_p50_ms", "median latency, express + Redis"],
    [
      "lost_updates_ours",
      "8 clients × 25 increments of one counter: expected − final, ours. **Goal = 0**",
    ],
    ["lost_updates_ours_conflicts_retried", "409 answers retried on the way"],
    ["lost_updates_express_redis", "expected − final, express-session (last writer wins)"],
  ],
  diag: [
    [
      "diag_rpc_none_vs_noop_ratio",
      "a method taking a get's arguments, doing nothing, returning a number ÷ ping",
    ],
    ["diag_rpc_result_vs_noop_ratio", "returns a get result computed once (an object) ÷ ping"],
    ["diag_rpc_result_json_vs_noop_ratio", "the same result as one JSON string ÷ ping"],
    [
      "diag_rpc_result_view_vs_noop_ratio",
      "the compact read's `Result` computed once (`{ ok, value }` around the view's text) ÷ ping",
    ],
    [
      "diag_rpc_result_text_vs_noop_ratio",
      "that `Result` as one string (what `getJson` answers), computed once ÷ ping",
    ],
    ["diag_rpc_sql_vs_noop_ratio", "the session row's SELECT (past the cache) ÷ ping"],
    ["diag_rpc_sql_json_vs_noop_ratio", "the SELECT with the data parsed and returned ÷ ping"],
    ["diag_in_process_get_us", "µs per get when many run inside one call"],
    ["diag_in_process_get_view_us", "µs per compact get (JSON text) inside one call"],
    [
      "diag_in_process_commit_us",
      "µs per commit in a group of 128 (one `commitMany`, 128 sessions)",
    ],
    ["diag_in_process_sql_us", "µs per SELECT of the row inside one call"],
  ],
  resharding: [
    [
      "reshard_sessions_moved_per_s",
      "sessions moved per second from 1 to 4 shards by the alarms, no traffic",
    ],
    [
      "reshard_rows_written_per_moved_session",
      "rows written per moved session, over all objects (hand-off, take-in, release)",
    ],
    ["reshard_move_seconds", "seconds the quiet move took"],
    ["reshard_read_ops_per_s_before", "routed gets/s, 32 in flight, before the move (slices)"],
    ["reshard_read_ops_per_s_during", "the same gets during a move of the same app"],
    ["reshard_twin_read_ops_per_s_during", "the same gets of a twin app, paired, during the move"],
    ["reshard_read_before_vs_twin_ratio", "moving app ÷ twin before the move, pair by pair"],
    [
      "reshard_read_during_vs_before_ratio",
      "moving app ÷ twin during the move, pair by pair, ÷ the same before. **Goal ≥ 0.7**",
    ],
    ["reshard_read_during_vs_before_unpaired_ratio", "median during ÷ median before, unpaired"],
    ["reshard_move_under_reads_seconds", "seconds the move under reads took"],
  ],
};

function format(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en");
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en");
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

function table(head: string[], rows: string[][], right: number[] = []): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => (right.includes(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, c) => (right.includes(c) ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

function blocks(run: Run): Record<string, string> {
  const s = (m: string) => run.spreads[m];
  const out: Record<string, string> = {};
  const load = (l?: number[]) => (l === undefined ? "?" : l.join(" "));
  out.run = table(
    ["", ""],
    [
      [
        "Date",
        `${run.date.slice(0, 16).replace("T", " ")} UTC (\`npm run bench${run.mode === "quick" ? " -- --quick" : ""}\`, ${run.seconds} s)`,
      ],
      [
        "Code",
        `commit \`${run.source.commit.slice(0, 7)}\`${run.source.changedFiles.length > 0 ? ` plus changes to ${run.source.changedFiles.join(", ")}` : " (clean tree for `src/`, `worker/`, `durable-object/`, `bench/`)"}`,
      ],
      [
        "Machine",
        `${run.machine.nproc} cores, ${run.machine.cpu}, ${run.machine.memoryGiB} GiB, ${run.machine.os}; load average ${load(run.machine.loadAverageAtStart)} at the start, ${load(run.machine.loadAverageAtEnd)} at the end`,
      ],
      [
        "Runtime",
        `Node ${run.machine.node}, workerd ${run.machine.workerd} via Miniflare ${run.machine.miniflare}, ${String(run.machine.redis).split(" ").slice(0, 3).join(" ")}`,
      ],
      ["Noise", run.noise?.verdict ?? "?"],
    ],
  );
  out.goals = table(
    ["Goal", "Median", "IQR", "95 % interval", "Verdict"],
    run.goals.map((g) => {
      const sp = s(g.metric);
      const iqr = sp !== undefined && sp.n > 1 ? `${format(sp.q1)} – ${format(sp.q3)}` : "";
      const ci = g.ci95 === undefined ? "" : `±${format(g.ci95)}`;
      const verdict = g.verdict === "noisy" ? "**noisy**: cannot judge" : g.verdict;
      return [`\`${g.metric}\` ${g.goal}`, format(g.value), iqr, ci, verdict];
    }),
    [1],
  );
  for (const [group, metrics] of Object.entries(GROUPS)) {
    const rows = metrics
      .filter(([m]) => run.metrics[m] !== undefined)
      .map(([m, what]) => {
        const sp = s(m);
        const iqr = sp !== undefined && sp.n > 1 ? `${format(sp.q1)} – ${format(sp.q3)}` : "";
        return [`\`${m}\``, format(run.metrics[m]), iqr, String(sp?.n ?? 1), what];
      });
    out[group] = table(["Metric", "Median", "IQR", "n", "What it is"], rows, [1]);
  }
  return out;
}

/** Replaces each marked block of `text` with its new content. */
export function fill(text: string, content: Record<string, string>): string {
  return text.replace(
    /<!-- bench:([a-z]+) -->\n[\s\S]*?<!-- \/bench:\1 -->/g,
    (whole, name: string) =>
      content[name] === undefined
        ? whole
        : `<!-- bench:${name} -->\n${content[name]}\n<!-- /bench:${name} -->`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const latest = join(results, "latest.json");
  const recorded = join(results, "recorded.json");
  if (!process.argv.includes("--keep")) {
    if (!existsSync(latest)) {
      console.error("No bench/results/latest.json: run `npm run bench` first.");
      process.exit(1);
    }
    copyFileSync(latest, recorded);
  }
  const run = JSON.parse(readFileSync(recorded, "utf8")) as Run;
  writeChart(run, join(results, "chart.svg"));
  const path = join(root, "BENCHMARKS.md");
  writeFileSync(path, fill(readFileSync(path, "utf8"), blocks(run)));
  console.log(
    `BENCHMARKS.md and bench/results/chart.svg now show the ${run.mode} run of ${run.date} (commit ${run.source.commit.slice(0, 7)}); re-read the prose around the tables.`,
  );
}
