// The processes a bench run starts besides workerd: Redis, the express app and the load
// generator. Everything started here is stopped by `stopAll`, also on Ctrl-C.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";

const children: ChildProcess[] = [];

/** Stops every process started here and waits (up to 5 s each) for it to exit. */
export async function stopAll(): Promise<void> {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = running.map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        setTimeout(resolve, 5_000).unref();
      }),
  );
  for (const child of running) {
    // The redis wrapper stops redis-server when its stdin closes; the others on SIGTERM too.
    child.stdin?.end();
    child.kill("SIGTERM");
  }
  await Promise.all(exited);
}

export function freePort(): Promise<number> {
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

export function hasCommand(name: string): boolean {
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
 * The express-session comparison needs a real Redis (Debian's redis-server). As root on Debian,
 * install it (a fresh clone then runs the bench with no manual step); otherwise say how.
 */
export function ensureRedis(log: (message: string) => void): void {
  if (hasCommand("redis-server") && hasCommand("redis-cli")) return;
  if (process.getuid?.() === 0 && hasCommand("apt-get")) {
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

/**
 * redis-server on a random 127.0.0.1 port, no persistence. It runs under a shell that kills it
 * when our pipe to its stdin closes, so it stops with this process even if this one is killed.
 */
export async function startRedis(): Promise<number> {
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

export async function startExpress(root: string, redisPort: number): Promise<string> {
  const child = spawn(process.execPath, [join(root, "bench/express-app.ts"), String(redisPort)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const [, port] = await waitForLine(child, /listening (\d+)/, "the express app");
  return `http://127.0.0.1:${port}`;
}

export interface LoadResult {
  requestsPerSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p99: number };
}

/** Sends one load to the load process and waits for its summary. */
export type Load = (
  url: string,
  seconds: number,
  connections: number,
  headers?: Record<string, string>,
) => Promise<LoadResult>;

/** Starts the load process (bench/load.ts, autocannon) once; loads run one at a time. */
export async function startLoad(root: string): Promise<Load> {
  const child = spawn(process.execPath, [join(root, "bench/load.ts")], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  await waitForLine(child, /ready/, "the load generator");
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => {
    if (line.startsWith("{")) waiting.shift()?.(line);
  });
  let queue: Promise<unknown> = Promise.resolve();
  return (url, seconds, connections, headers = {}) => {
    const next = queue.then(
      () =>
        new Promise<LoadResult>((resolve, reject) => {
          waiting.push((line) => {
            const result = JSON.parse(line) as LoadResult & { error?: string };
            if (result.error !== undefined) reject(new Error(result.error));
            else if (result.non2xx > 0 || result.errors > 0) {
              reject(
                new Error(`load on ${url}: ${result.non2xx} non-2xx, ${result.errors} errors`),
              );
            } else resolve(result);
          });
          child.stdin?.write(
            `${JSON.stringify({ url, connections, duration: seconds, headers })}\n`,
          );
        }),
    );
    queue = next.catch(() => undefined);
    return next;
  };
}
