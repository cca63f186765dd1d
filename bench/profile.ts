// `node bench/profile.ts [target] [seconds]`: a CPU profile of the worker and its Durable Object
// (one isolate in workerd) while autocannon loads one HTTP target, through workerd's inspector
// (Chrome DevTools protocol: Profiler.start/stop over its websocket). Targets: `read` (GET of a
// stored session, the real API), `floor` (the read's floor: the same auth, route and router, one
// empty call to the object; bench/worker.ts), `plain` (/healthz), `auth` (the bearer auth and a
// constant answer), and over RPC one at a time, `commit` and its floor `write`. Prints where the isolate's time goes per request, by source file and by
// function (self time, from the bundle's source map), and writes the raw profile to
// bench/results/profile-<target>.cpuprofile (opens in Chrome DevTools or speedscope).
// The bench's figures come from `npm run bench`; this only says where a request's time goes.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchWorker, type CallSpec } from "./driver.ts";
import { freePort, startLoad, stopAll } from "./processes.ts";
import { T0 } from "./rpc.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = process.argv[2] ?? "read";
const seconds = Number(process.argv[3] ?? 5);
/** Sampling interval of the profiler, µs. */
const SAMPLING_US = 50;
const CONNECTIONS = 32;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One Chrome DevTools protocol session over the inspector's websocket. */
async function inspect(port: number): Promise<{
  send(method: string, params?: unknown): Promise<unknown>;
  close(): void;
}> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    title?: string;
    webSocketDebuggerUrl: string;
  }[];
  const entry = list.find((e) => (e.title ?? "").includes("bench")) ?? list[0];
  if (entry === undefined) throw new Error("workerd's inspector lists no worker");
  const socket = new WebSocket(entry.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let next = 1;
  const waiting = new Map<number, (value: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  return {
    send(method, params = {}) {
      const id = next++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve) => waiting.set(id, resolve));
    },
    close: () => socket.close(),
  };
}

/** Where a frame of the bundle comes from: its source file, through the source map. */
function sourceOf(map: SourceMap | undefined, frame: ProfileNode["callFrame"]): string {
  if (frame.url === "" || map === undefined || !frame.url.endsWith("worker.js")) {
    return frame.functionName.startsWith("(") ? frame.functionName : `native ${frame.url || ""}`;
  }
  const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string };
  const source = entry.originalSource ?? "bundle";
  const path = source.startsWith("file://") ? fileURLToPath(source) : source;
  const local = relative(root, join(root, ".wrangler/bench", path));
  const modules = local.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  return modules !== null ? `node_modules/${modules[1]}` : local;
}

/** What a source file's time is, for the summary: the parts of a read. */
function partOf(file: string, functionName: string): string {
  if (file === "(garbage collector)") return "garbage collection";
  if (file === "(program)" || file.startsWith("native"))
    return "the runtime (native code: HTTP, Response, RPC plumbing)";
  if (file === "src/routing/router.ts" && functionName === "#onKey")
    return "the RPC call to the object (its caller's frame)";
  if (file === "bench/worker.ts" && functionName === "(anonymous)")
    return "the RPC call to the object (its caller's frame)";
  if (file.startsWith("durable-object/") || file.startsWith("src/core/engine"))
    return "the object's work (durable-object/*)";
  if (file === "worker/http/auth.ts") return "bearer auth (worker/http/auth.ts)";
  if (file === "node_modules/hono") return "Hono (routing, context)";
  if (file === "worker/http/routes.ts" || file === "node_modules/valibot")
    return "route registration and path validation";
  return "the rest of the worker (app.ts, router, etag, view, wire, bench wrapper)";
}

function summarise(profile: Profile, map: SourceMap | undefined, requests: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFile = new Map<string, number>();
  const byPart = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total += us;
    const frame = node.callFrame;
    if (frame.functionName === "(idle)") continue;
    busy += us;
    const file = sourceOf(map, frame);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const part = partOf(file, frame.functionName);
    byPart.set(part, (byPart.get(part) ?? 0) + us);
    const name = `${frame.functionName || "(anonymous)"}  ${file}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const perRequest = (us: number) =>
    `${(us / requests).toFixed(2).padStart(7)} ${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${target}: ${requests} requests in ${(total / 1e6).toFixed(2)} s profiled (${CONNECTIONS} connections), ` +
      `isolate busy ${((busy / total) * 100).toFixed(0)} % of the time: ${(busy / requests).toFixed(1)} µs of its thread per request`,
    "",
    "µs per request and share of the busy time, by part:",
    ...[...byPart.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([part, us]) => `${perRequest(us)}  ${part}`),
    "",
    "µs per request, self time by source file:",
    ...[...byFile.entries()]
      .sort((a, b) => b[1] - a[1])
      .filter(([, us]) => us / requests >= 0.05)
      .map(([file, us]) => `${perRequest(us)}  ${file}`),
    "",
    "µs per request, self time by function (top 30):",
    ...[...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([name, us]) => `${perRequest(us)}  ${name}`),
  ];
  return lines.join("\n");
}

/**
 * RPC targets, one call at a time: `commit` (a one-key commit of a stored session, as the bench's
 * `commit_vs_one_row_write_ratio` makes it) and `write` (that ratio's floor: one row written).
 */
const rpcTargets: Record<string, CallSpec> = {
  commit: { op: "commit", app: "rpc", keys: ["one"], concurrency: 1 },
  write: { op: "probe", probe: "sql-write", app: "rpc", keys: ["k"], concurrency: 1 },
};

async function main(): Promise<void> {
  const token = randomBytes(16).toString("hex");
  const inspectorPort = await freePort();
  const bench = await BenchWorker.start(root, token, { inspectorPort, sourcemap: true });
  try {
    const load = await startLoad(root);
    const { base, auth } = bench;
    const sessionUrl = `${base}/v1/apps/bench/sessions/k`;
    const fresh = (await (await fetch(sessionUrl, { method: "POST", headers: auth })).json()) as {
      version: number;
      sid: string | null;
    };
    const patched = await fetch(sessionUrl, {
      method: "PATCH",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ version: fresh.version, sid: fresh.sid, set: { counter: 1 } }),
    });
    if (!patched.ok) throw new Error(`PATCH: ${patched.status}`);
    await patched.arrayBuffer();
    const targets: Record<string, [string, Record<string, string>]> = {
      read: [sessionUrl, auth],
      floor: [`${base}/bench-http/floor/apps/bench/sessions/k`, auth],
      plain: [`${base}/healthz`, {}],
      auth: [`${base}/bench-http/auth`, auth],
    };
    const rpc = rpcTargets[target];
    const chosen = targets[target];
    if (chosen === undefined && rpc === undefined) {
      const names = [...Object.keys(targets), ...Object.keys(rpcTargets)];
      throw new Error(`target: one of ${names.join(", ")}`);
    }
    let run: () => Promise<{ ok: number; requestsPerSecond: number }>;
    if (rpc !== undefined) {
      // RPC calls made one at a time from inside workerd (`POST /bench/loop`), about `seconds`.
      const name = await bench.objectOf("rpc");
      await bench.call(name, "setClock", T0);
      await bench.call(name, "seed", "rpc", { keys: ["k", "one"] }, { n: 0 });
      const timed = await bench.loop({ ...rpc, n: 200 });
      const n = Math.max(200, Math.round((timed.ops / timed.elapsedMs) * 1000 * seconds));
      run = async () => {
        const { ops, elapsedMs } = await bench.loop({ ...rpc, n });
        return { ok: ops, requestsPerSecond: (ops / Math.max(1, elapsedMs)) * 1000 };
      };
    } else {
      const [url, headers] = chosen as [string, Record<string, string>];
      await load(url, 2, CONNECTIONS, headers);
      run = () => load(url, seconds, CONNECTIONS, headers);
    }
    const inspector = await inspect(inspectorPort);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
    await inspector.send("Profiler.start");
    const result = await run();
    const { profile } = (await inspector.send("Profiler.stop")) as { profile: Profile };
    inspector.close();
    mkdirSync(join(root, "bench/results"), { recursive: true });
    const out = join(root, `bench/results/profile-${target}.cpuprofile`);
    writeFileSync(out, JSON.stringify(profile));
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(
        JSON.parse(readFileSync(join(root, ".wrangler/bench/worker.js.map"), "utf8")),
      );
    } catch {
      map = undefined;
    }
    console.log(summarise(profile, map, result.ok));
    console.log(`\n${result.requestsPerSecond.toFixed(0)} requests/s; profile in ${out}`);
  } finally {
    await stopAll();
    await bench.dispose();
  }
}

await main();
process.exit();
