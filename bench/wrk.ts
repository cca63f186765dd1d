// `npm run bench:wrk [-- rounds seconds]`: the HTTP read against express-session + connect-redis
// + Redis with wrk, a load generator independent of the bench's own (autocannon): 32
// connections, 2 threads, `rounds` interleaved rounds (default 4) of `seconds` each (default 10),
// the order turned back every other round. Starts the same processes as `npm run bench` (the
// bench worker in workerd, Redis, the express app). Needs `wrk` (Debian: apt-get install wrk):
// a manual comparison, documented in BENCHMARKS.md; nothing else runs it.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchWorker } from "./driver.ts";
import { ensureRedis, hasCommand, startExpress, startRedis, stopAll } from "./processes.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const rounds = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 10);
const CONNECTIONS = 32;

/** wrk's requests per second for one load (it fails on any non-2xx answer). */
function wrk(url: string, header: string): number {
  const out = execFileSync(
    "wrk",
    ["-t2", `-c${CONNECTIONS}`, `-d${seconds}s`, "-H", header, "--latency", url],
    { encoding: "utf8" },
  );
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`wrk ${url}: non-2xx answers\n${out}`);
  const match = out.match(/Requests\/sec:\s+([\d.]+)/);
  if (match === null) throw new Error(`wrk ${url}: no figure\n${out}`);
  return Number(match[1]);
}

async function main(): Promise<void> {
  if (!hasCommand("wrk")) throw new Error("wrk is not installed (Debian: apt-get install -y wrk)");
  ensureRedis((m) => console.error(m));
  const token = randomBytes(16).toString("hex");
  const bench = await BenchWorker.start(root, token);
  try {
    const expressUrl = await startExpress(root, await startRedis());
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
    const started = await fetch(`${expressUrl}/reset`);
    const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    await started.arrayBuffer();
    const targets: [string, string, string][] = [
      ["ours", sessionUrl, `Authorization: ${auth.Authorization}`],
      ["express", `${expressUrl}/`, `Cookie: ${cookie}`],
    ];
    // Warm-up of each, not counted.
    for (const [, url, header] of targets) {
      execFileSync("wrk", ["-t2", `-c${CONNECTIONS}`, "-d2s", "-H", header, url]);
    }
    console.log(`wrk, ${CONNECTIONS} connections, 2 threads, ${rounds} rounds of ${seconds} s`);
    console.log("round  ours req/s  express req/s  ours ÷ express");
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      const rps: Record<string, number> = {};
      for (const [label, url, header] of order) rps[label] = wrk(url, header);
      const ours = rps.ours ?? Number.NaN;
      const express = rps.express ?? Number.NaN;
      console.log(
        `${String(round + 1).padEnd(5)}  ${ours.toFixed(0).padStart(10)}  ${express.toFixed(0).padStart(13)}  ${(ours / express).toFixed(2).padStart(14)}`,
      );
    }
  } finally {
    await stopAll();
    await bench.dispose();
  }
}

await main();
process.exit();
