// The load generator, run by bench/run.ts as one separate process for the whole run, so that it
// does not share an event loop with the orchestrator and starts only once: it reads one load
// per line on stdin and answers each with one JSON line (autocannon's summary). It stops when
// its stdin closes.
// A line: {"url":"http://127.0.0.1:1234/healthz","connections":32,"duration":1,"headers":{}}
import { createInterface } from "node:readline";
import autocannon from "autocannon";

interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
}

async function run(spec: LoadSpec): Promise<string> {
  if (!spec.url?.startsWith("http://127.0.0.1:")) {
    return JSON.stringify({ error: "load.ts only sends to http://127.0.0.1" });
  }
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    headers: spec.headers ?? {},
  });
  // `duration` is the measured wall time in seconds; only 2xx responses count as served.
  const ok = result["2xx"];
  return JSON.stringify({
    requestsPerSecond: ok / result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    seconds: result.duration,
  });
}

console.log("ready");
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  console.log(await run(JSON.parse(line) as LoadSpec));
}
