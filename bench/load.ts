// The load generator, run by bench/run.ts as a separate process so that it does not share an
// event loop with the orchestrator: autocannon against one URL, its summary as one JSON line.
// Usage: node bench/load.ts '{"url":"http://127.0.0.1:1234/healthz","connections":32,"duration":5}'
import autocannon from "autocannon";

interface LoadSpec {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
if (!spec.url?.startsWith("http://127.0.0.1:")) {
  console.error("load.ts only sends to http://127.0.0.1");
  process.exit(2);
}

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.duration,
  headers: spec.headers ?? {},
});

// `duration` is the measured wall time in seconds; only 2xx responses count as served.
const ok = result["2xx"];
console.log(
  JSON.stringify({
    requestsPerSecond: ok / result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    seconds: result.duration,
  }),
);
