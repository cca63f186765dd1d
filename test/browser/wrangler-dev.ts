// What the browser tests share: the system's Chromium and its flags, free ports, and `wrangler dev`
// started on them with its state and dev registry in a scratch directory (every run starts empty;
// neither the developer's local state nor another wrangler dev on this machine is touched), then
// stopped with the workerd it started.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** How long wrangler dev may take to answer its first request (a cold start on a busy machine). */
const START_TIMEOUT_MS = 120_000;

/** A port the system says is free now, for a server of ours on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A running `wrangler dev`: its base URL, what it printed, and how to stop it. */
export interface WranglerDev {
  base: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` with `configs` (the first one answers on the port) and `vars`, on
 * BROWSER_TEST_PORT and BROWSER_TEST_INSPECTOR_PORT or free ports, its state and registry under
 * `scratch`; resolves once `readyPath` answers 200.
 */
export async function startWranglerDev(options: {
  configs: string[];
  vars: Record<string, string>;
  scratch: string;
  readyPath: string;
}): Promise<WranglerDev> {
  const port = Number(process.env.BROWSER_TEST_PORT ?? (await freePort()));
  const inspectorPort = Number(process.env.BROWSER_TEST_INSPECTOR_PORT ?? (await freePort()));
  const base = `http://127.0.0.1:${port}`;
  let log = "";
  const server: ChildProcess = spawn(
    join(root, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      ...options.configs.flatMap((config) => ["-c", config]),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      join(options.scratch, "state"),
      ...Object.entries(options.vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        WRANGLER_REGISTRY_PATH: join(options.scratch, "registry"),
        CI: "true",
      },
    },
  );
  server.stdout?.on("data", (chunk) => {
    log += chunk;
  });
  server.stderr?.on("data", (chunk) => {
    log += chunk;
  });
  const stop = async () => {
    // wrangler dev and the workerd it started: the process group we created.
    if (server.pid !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      process.kill(-server.pid, "SIGTERM");
      await exited;
    }
  };
  const url = `${base}${options.readyPath}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`wrangler dev exited:\n${log}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return { base, log: () => log, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stop();
  throw new Error(`wrangler dev did not answer on ${url} within ${START_TIMEOUT_MS} ms:\n${log}`);
}
