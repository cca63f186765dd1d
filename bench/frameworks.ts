// `npm run bench:frameworks`: what the framework adapters cost. (1) Each adapter's added bundle
// size: a Worker that uses the plain client, and the same Worker using the adapter too, bundled
// and minified with esbuild, the frameworks left out (they are the app's own, peer dependencies).
// (2) Requests per second through each way in (plain client, React Router storage, unstorage
// driver), a read and a read-then-commit, in one local workerd over the Durable Object binding,
// interleaved: rounds of every combination in turn, the order shuffled each round.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { LogLevel } from "miniflare";
import type { FrameworkRun } from "./frameworks-run.ts";
import { startLocalWorker } from "./workerd.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const MS = Number(process.env.MS ?? 1500);
const CONCURRENCY = 8;

/** Minified and gzip bytes of a Worker whose module is `code`. */
async function bundle(code: string): Promise<{ bytes: number; gzip: number }> {
  const result = await build({
    stdin: { contents: code, resolveDir: root, loader: "ts" },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2023",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "react-router", "unstorage"],
    logLevel: "error",
  });
  const text = (result.outputFiles[0] as { contents: Uint8Array }).contents;
  return { bytes: text.byteLength, gzip: gzipSync(text).byteLength };
}

const plainWorker = `
import { ServiceSessionManagerFactory } from "./src/index";
export default { async fetch(request, env) {
  const manager = await new ServiceSessionManagerFactory(env.SESSIONS, "shop").open();
  const session = await manager.get("abc");
  session.set("n", 1);
  await manager.connection.commit();
  return new Response("ok");
} };`;

const adapterWorkers = {
  "react-router": `${plainWorker}
import { createEdgeSessionStorage } from "./src/react-router/index";
export const storage = createEdgeSessionStorage({ factory: () => new ServiceSessionManagerFactory(globalThis.env, "shop") });`,
  unstorage: `${plainWorker}
import { edgeSessionsDriver } from "./src/unstorage/index";
export const driver = edgeSessionsDriver({ factory: () => new ServiceSessionManagerFactory(globalThis.env, "shop") });`,
};

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const base = await bundle(plainWorker);
console.log(`Plain client Worker: ${kib(base.bytes)} minified, ${kib(base.gzip)} gzip`);
for (const [name, code] of Object.entries(adapterWorkers)) {
  const size = await bundle(code);
  console.log(
    `+ ${name}: +${kib(size.bytes - base.bytes)} minified, +${kib(size.gzip - base.gzip)} gzip`,
  );
}

const local = await startLocalWorker({
  root,
  entry: "bench/frameworks-worker.ts",
  name: "bench-frameworks",
  logLevel: LogLevel.ERROR,
  bindings: {},
  durableObjects: { SESSION_MANAGER: { className: "SessionManagerObject", useSQLite: true } },
});
try {
  const kinds: FrameworkRun["kind"][] = ["plain", "react-router", "unstorage"];
  const ops: FrameworkRun["op"][] = ["read", "commit"];
  const runs = kinds.flatMap((kind) => ops.map((op) => ({ kind, op })));
  const results = new Map<string, number[]>(runs.map((r) => [`${r.kind} ${r.op}`, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = [...runs].sort(() => Math.random() - 0.5);
    for (const { kind, op } of order) {
      const spec: FrameworkRun = { kind, op, concurrency: CONCURRENCY, ms: MS };
      const response = await fetch(`${local.base}/run`, {
        method: "POST",
        body: JSON.stringify(spec),
      });
      const { perSecond } = (await response.json()) as { perSecond: number };
      results.get(`${kind} ${op}`)?.push(perSecond);
    }
  }
  console.log(`\n${ROUNDS} rounds of ${MS} ms, ${CONCURRENCY} in flight, medians (min-max):`);
  for (const op of ops) {
    const plainMedian = median(results.get(`plain ${op}`) ?? []);
    for (const kind of kinds) {
      const values = results.get(`${kind} ${op}`) ?? [];
      const m = median(values);
      console.log(
        `${op.padEnd(6)} ${kind.padEnd(12)} ${m.toFixed(0).padStart(6)} /s ` +
          `(${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}), ` +
          `${((m / plainMedian) * 100).toFixed(0)} % of plain`,
      );
    }
  }
} finally {
  await local.dispose();
}
