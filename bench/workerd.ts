// A worker of this project in a local workerd, for the bench and the soak: bundled with esbuild,
// served by Miniflare on 127.0.0.1 (random port), with no network use of its own.
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";

export const COMPATIBILITY_DATE = "2026-11-01";

/** What to run: the entry module, and the bindings Miniflare gives it. */
export interface LocalWorkerOptions {
  /** The project's root folder. */
  root: string;
  /** The entry module, relative to `root` (e.g. `bench/worker.ts`). */
  entry: string;
  /** Folder name under `.wrangler/` for the bundle. */
  name: string;
  bindings: Record<string, string>;
  durableObjects: Record<string, { className: string; useSQLite: boolean }>;
  queueProducers?: Record<string, { queueName: string }>;
  queueConsumers?: Record<string, { maxBatchSize: number; maxBatchTimeout: number }>;
  logLevel?: LogLevel;
  /** Opens workerd's inspector (Chrome DevTools protocol) on this 127.0.0.1 port (bench/profile.ts). */
  inspectorPort?: number;
  /** Writes a source map beside the bundle (so that a profile names the source files). */
  sourcemap?: boolean;
}

/** A running local worker: its base URL (a socket straight to the worker) and how to stop it. */
export interface LocalWorker {
  base: string;
  dispose(): Promise<void>;
}

export async function startLocalWorker(options: LocalWorkerOptions): Promise<LocalWorker> {
  const outfile = join(options.root, `.wrangler/${options.name}/worker.js`);
  await build({
    entryPoints: [join(options.root, options.entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2023",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    logLevel: "warning",
    sourcemap: options.sourcemap === true ? "linked" : false,
  });
  // Miniflare 5 takes a new options shape; it converts the well-known v4 one.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      ...(options.inspectorPort === undefined
        ? {}
        : { inspectorPort: options.inspectorPort, inspectorHost: "127.0.0.1" }),
      log: new Log(options.logLevel ?? LogLevel.WARN),
      // No network: no request.cf fetch, no telemetry, no dev registry.
      cf: false,
      telemetry: { enabled: false },
      enableDevRegistry: false,
      modules: true,
      scriptPath: outfile,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: options.bindings,
      durableObjects: options.durableObjects,
      queueProducers: options.queueProducers,
      queueConsumers: options.queueConsumers,
      // A socket straight to the worker, past Miniflare's entry worker (which adds a hop).
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    }),
  );
  await mf.ready;
  const base = (await mf.unsafeGetDirectURL()).toString().replace(/\/$/, "");
  if (!base.startsWith("http://127.0.0.1:")) {
    await mf.dispose();
    throw new Error(`workerd listens on ${base}, not on the loopback address`);
  }
  return { base, dispose: () => mf.dispose() };
}
