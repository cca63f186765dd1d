#!/usr/bin/env node
// `npm run test:consumer`: the package as a user gets it. Packs the working tree (`npm pack`,
// which builds dist/), installs the tarball into a copy of test/consumer in a temporary directory
// (its other dependencies from the npm registry, the npm cache first), then there:
//   1. typechecks the Node program and both Workers with strict settings and skipLibCheck off,
//      with moduleResolution Bundler and again with NodeNext, with TypeScript 7 and 6;
//   2. checks what each entry point exports against test/consumer/exports.json;
//   3. `wrangler deploy --dry-run`s both Workers and the session worker, and reports their sizes;
//   4. runs two consumer projects on one machine at once, as the README's "Local development"
//      says, and checks that each reaches only its own session worker:
//      - project A (that directory): the session worker from the installed package in a
//        process of its own (`wrangler dev -c node_modules/edge-sessions/wrangler.toml`, a random
//        API token) and the service-bound Worker in another, joined through the project's own dev
//        registry (`WRANGLER_REGISTRY_PATH` in its `.env`); the plain Node program runs against
//        the HTTP API; and the Worker that hosts the Durable Object itself;
//      - project B (a second directory): the service-bound Worker and the session worker in one
//        `wrangler dev` (two `-c`), the README's default, on the machine's shared dev registry;
//   5. builds two framework apps with their own builds and runs each under `wrangler dev` with a
//      session worker of its own (one process, two configs): a React Router app (the Cloudflare
//      template's shape: Vite and @cloudflare/vite-plugin) on `edge-sessions/react-router`, and an
//      Astro app (@astrojs/cloudflare) whose sessions go through `edge-sessions/unstorage`; each signs in,
//      counts, takes 16 concurrent requests with one cookie and loses no acknowledged count,
//      and signs out. (Astro is pinned to 7.4.1: later 7.4 releases ask for Node 22.23.4 or later,
//      above the Node this project brings.)
// Ports: CONSUMER_TEST_PORT=N uses N to N+11; otherwise free ports. KEEP=1 keeps the directory.
// CONSUMER_TEST_HONO=4.13.0 installs that hono instead (to try the low end of the peer range).
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const work = mkdtempSync(join(tmpdir(), "edge-sessions-consumer-"));
const app = join(work, "app");
/** A second consumer project on the same machine, with the same files and packages. */
const appB = join(work, "app-b");
const started = Date.now();
/** @type {import("node:child_process").ChildProcess[]} */
const servers = [];
/** Each `wrangler dev`'s output so far, by the log file it is written to when the test fails. */
/** @type {Map<string, () => string>} */
const logs = new Map();

const env = {
  ...process.env,
  // No telemetry, and a dev registry of our own that plays the machine's shared one: service
  // bindings reach only the workers of this run, never another `wrangler dev` on the machine.
  WRANGLER_SEND_METRICS: "false",
  ASTRO_TELEMETRY_DISABLED: "1",
  WRANGLER_REGISTRY_PATH: join(work, "registry"),
  CI: process.env.CI ?? "1",
};
/** The environment of project A's processes: its `.env` names its registry, as the README says. */
const { WRANGLER_REGISTRY_PATH: _shared, ...envOwnRegistry } = env;

/**
 * Runs a step, printing its name and how long it took.
 * @template T
 * @param {string} name
 * @param {() => T | Promise<T>} fn
 * @returns {Promise<T>}
 */
async function step(name, fn) {
  const t0 = Date.now();
  process.stdout.write(`- ${name} ... `);
  const result = await fn();
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

/**
 * Runs a command to completion; its output is shown only when it fails.
 * @param {string} command
 * @param {string[]} args
 * @returns {string} its standard output
 */
function run(command, args, cwd = app, extraEnv = {}) {
  try {
    return execFileSync(command, args, {
      cwd,
      env: { ...env, ...extraEnv },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
  } catch (error) {
    const e = /** @type {{ stdout?: string, stderr?: string }} */ (error);
    console.error(
      `\n$ ${[command, ...args].join(" ")}  (in ${cwd})\n${e.stdout ?? ""}${e.stderr ?? ""}`,
    );
    throw new Error(`Command failed: ${[command, ...args].join(" ")}`);
  }
}

/**
 * Runs a command to completion in the background; its output is shown only when it fails.
 * @param {string} command
 * @param {string[]} args
 * @param {string} [cwd]
 * @returns {Promise<void>}
 */
function runAsync(command, args, cwd = app) {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
      (error, stdout, stderr) => {
        if (error === null) return resolve();
        console.error(`\n$ ${[command, ...args].join(" ")}  (in ${cwd})\n${stdout}${stderr}`);
        reject(new Error(`Command failed: ${[command, ...args].join(" ")}`));
      },
    );
  });
}

/**
 * npm, as the npm that runs this script (or the one on PATH).
 * @param {string[]} args
 * @param {string} cwd
 */
function npm(args, cwd) {
  const cli = process.env.npm_execpath;
  return cli ? run(process.execPath, [cli, ...args], cwd) : run("npm", args, cwd);
}

/**
 * npm as `npm()` runs it, for a command that succeeds: what it warned (its standard error).
 * @param {string[]} args
 * @param {string} cwd
 */
function npmWarnings(args, cwd) {
  const cli = process.env.npm_execpath;
  const [command, fullArgs] = cli ? [process.execPath, [cli, ...args]] : ["npm", args];
  const result = spawnSync(command, fullArgs, {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60_000,
  });
  if (result.status !== 0) {
    console.error(`\n$ npm ${args.join(" ")}  (in ${cwd})\n${result.stdout}${result.stderr}`);
    throw new Error(`Command failed: npm ${args.join(" ")}`);
  }
  return result.stderr;
}

const bin = {
  /** TypeScript 7 (what `npm install typescript` gives), and 6 (`typescript-6`, an npm alias). */
  tsc: (/** @type {string} */ name) => join(app, "node_modules", name, "bin", "tsc"),
  wrangler: () => join(app, "node_modules", "wrangler", "bin", "wrangler.js"),
  reactRouter: () => join(app, "node_modules", "@react-router", "dev", "bin.cjs"),
  astro: () => join(app, "node_modules", "astro", "bin", "astro.mjs"),
};

/**
 * A port: CONSUMER_TEST_PORT + offset, or one the system says is free.
 * @param {number} offset
 * @returns {Promise<number>}
 */
async function port(offset) {
  const base = Number(process.env.CONSUMER_TEST_PORT);
  if (base > 0) return base + offset;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts `wrangler dev` in the background; resolves with its URL once `path` answers.
 * @param {number} index its ports are CONSUMER_TEST_PORT + 2 index and the next one
 * @param {string} name
 * @param {string[]} args
 * @param {string} path
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [options] the project it runs in (A)
 */
async function wranglerDev(index, name, args, path, options = {}) {
  const http = await port(index * 2);
  const inspector = await port(index * 2 + 1);
  const log = join(work, `${name}.log`);
  const child = spawn(
    process.execPath,
    [
      bin.wrangler(),
      "dev",
      ...args,
      "--ip",
      "127.0.0.1",
      "--port",
      String(http),
      "--inspector-port",
      String(inspector),
      // One directory each: processes starting at once would lock each other's database.
      "--persist-to",
      join(work, "state", name),
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: options.cwd ?? app,
      env: options.env ?? env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  servers.push(child);
  let output = "";
  logs.set(log, () => output);
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}${path}`);
      if (response.status < 500) return url;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  writeFileSync(log, output);
  console.error(`\n${output}`);
  throw new Error(`wrangler dev (${name}) did not answer on ${url}${path}; its output is above.`);
}

function stopServers() {
  for (const child of servers) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM"); // wrangler and the workerd it started
      } catch {
        // already gone
      }
    }
  }
}

/**
 * A cookie-keeping client of one Worker: `(method, path)` answers `{ status, body }`.
 * @param {string} base
 */
function browser(base) {
  let cookie = "";
  /** @type {(method: string, path: string) => Promise<{ status: number, body: unknown }>} */
  const visit = async (method, path) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: cookie ? { cookie } : {},
      redirect: "manual",
    });
    const set = response.headers.get("set-cookie");
    if (set !== null) cookie = set.split(";")[0] ?? "";
    const text = await response.text();
    // A body that is not JSON (an error page) is kept as text, so that a failure shows it.
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text.slice(0, 200);
    }
    return { status: response.status, body };
  };
  /** The cookie it holds now (`sid=<id>.<signature>`). */
  return Object.assign(visit, { cookie: () => cookie });
}

/**
 * @param {unknown} actual
 * @param {unknown} expected
 * @param {string} what
 */
function expect(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/**
 * `wrangler deploy --dry-run` of one Worker; its upload size as wrangler prints it.
 * @param {string} name
 * @param {string} config
 */
function dryRun(name, config) {
  const out = run(process.execPath, [
    bin.wrangler(),
    "deploy",
    "--dry-run",
    "-c",
    config,
    "--outdir",
    join(work, "dry-run", name),
  ]);
  const size = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(out);
  if (size === null) throw new Error(`No upload size in the output of the dry run:\n${out}`);
  return `${size[1]} (gzip ${size[2]})`;
}

/**
 * A framework app's counter, as a visitor uses it: signs in, counts, sends 16 counts at once with
 * one cookie, and checks that the count stored is what the answers acknowledged; then signs out.
 * `refused` is the status of a count that another one changed meanwhile (nothing of it stored).
 * @param {string} base
 * @param {string} what
 * @param {number} refused
 */
async function countingApp(base, what, refused) {
  const visit = browser(base);
  expect(await visit("POST", "/login"), { status: 200, body: { user: "fred" } }, `${what}: login`);
  expect(await visit("POST", "/count"), { status: 200, body: { count: 1 } }, `${what}: count`);
  expect(await visit("POST", "/count"), { status: 200, body: { count: 2 } }, `${what}: count`);
  const cookie = visit.cookie();
  const answers = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const response = await fetch(`${base}/count`, { method: "POST", headers: { cookie } });
      const text = await response.text();
      return {
        status: response.status,
        count: response.status === 200 ? JSON.parse(text).count : 0,
      };
    }),
  );
  const acknowledged = answers.filter((a) => a.status === 200).map((a) => a.count);
  const others = answers.filter((a) => a.status !== 200).map((a) => a.status);
  expect(
    [...new Set(others)].filter((status) => status !== refused),
    [],
    `${what}: refusals`,
  );
  expect(
    acknowledged.sort((a, b) => a - b),
    acknowledged.map((_, i) => 3 + i),
    `${what}: the counts the 16 concurrent answers acknowledged`,
  );
  expect(
    await visit("GET", "/count"),
    { status: 200, body: { user: "fred", count: 2 + acknowledged.length } },
    `${what}: the count stored after them`,
  );
  expect((await visit("POST", "/logout")).status, 204, `${what}: logout`);
  expect(
    await visit("GET", "/count"),
    { status: 200, body: { user: null, count: 0 } },
    `${what}: after logout`,
  );
  return `${acknowledged.length} of 16 acknowledged, ${others.length} refused`;
}

// Interrupted (Ctrl-C, a CI timeout): stop the servers before leaving.
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    stopServers();
    process.exit(1);
  });
}

let failed = false;
try {
  const tarball = await step("npm pack (builds dist/)", () => {
    const out = npm(["pack", "--json", "--pack-destination", work], root);
    const [info] = JSON.parse(out.slice(out.indexOf("[")));
    console.log(
      `\n  ${info.filename}: ${(info.size / 1000).toFixed(1)} kB packed, ` +
        `${(info.unpackedSize / 1000).toFixed(1)} kB unpacked, ${info.entryCount} files`,
    );
    return join(work, info.filename);
  });

  await step("install the tarball into an empty project", () => {
    // The project's own files only: not this script, nor anything a local install left there.
    const skip = new Set(["run.mjs", "node_modules", ".wrangler", "worker-configuration.d.ts"]);
    cpSync(here, app, { recursive: true, filter: (src) => !skip.has(basename(src)) });
    const manifest = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
    manifest.dependencies["edge-sessions"] = `file:${tarball}`;
    if (process.env.CONSUMER_TEST_HONO) manifest.dependencies.hono = process.env.CONSUMER_TEST_HONO;
    writeFileSync(join(app, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    const warnings = npmWarnings(["install", "--prefer-offline", "--no-audit", "--no-fund"], app);
    // What the README's Install section says npm warns about this package: its `prepare` only
    // (npm 11 lists it for any package not from a registry; older npm says nothing).
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    const about = warnings.split("\n").filter((line) => line.includes("edge-sessions@"));
    for (const line of about) {
      if (!line.includes(`edge-sessions@${version} (prepare: npm run build)`)) {
        throw new Error(`npm warned about the package as the README does not say:\n${warnings}`);
      }
    }
    // Project A keeps a dev registry of its own, as the README's two-process recipe says.
    writeFileSync(join(app, ".env"), "WRANGLER_REGISTRY_PATH=.wrangler/registry\n");
    // Project B: the same project again, elsewhere on the machine (its packages shared).
    cpSync(here, appB, { recursive: true, filter: (src) => !skip.has(basename(src)) });
    symlinkSync(join(app, "node_modules"), join(appB, "node_modules"));
  });

  await step("wrangler types (hosted Worker)", () => {
    run(process.execPath, [
      bin.wrangler(),
      "types",
      "-c",
      "hosted/wrangler.toml",
      "hosted/worker-configuration.d.ts",
    ]);
  });

  const nodeNext = ["--module", "NodeNext", "--moduleResolution", "NodeNext"];
  /** @type {[string, string[]][]} */
  const projects = [
    ["node/tsconfig.json", []],
    ["node/tsconfig.json", nodeNext],
    ["service/tsconfig.json", []],
    ["service/tsconfig.json", nodeNext],
    ["hosted/tsconfig.json", []],
    ["hosted/tsconfig.json", nodeNext],
    // wrangler's generated types do not typecheck under NodeNext themselves (extensionless
    // imports, `export =`): Bundler only, as Workers projects use them.
    ["hosted/tsconfig.wrangler.json", []],
  ];
  // The framework apps build with their own tools (Vite), beside the typechecks.
  const frameworkBuilds = Promise.all([
    runAsync(process.execPath, [bin.reactRouter(), "build"], join(app, "react-router")),
    runAsync(process.execPath, [bin.astro(), "build"], join(app, "astro")),
  ]);
  frameworkBuilds.catch(() => {}); // awaited below, in its own step
  const compilers = ["typescript", "typescript-6"];
  await step(`typecheck: ${projects.length} projects, TypeScript 7 and 6`, async () => {
    // As many at a time as there are cores.
    const queue = compilers.flatMap((compiler) =>
      projects.map(([project, flags]) => [bin.tsc(compiler), "-p", project, ...flags]),
    );
    const worker = async () => {
      for (let args = queue.shift(); args !== undefined; args = queue.shift()) {
        await runAsync(process.execPath, args);
      }
    };
    await Promise.all(Array.from({ length: Math.min(availableParallelism(), 4) }, worker));
  });

  await step("exports of each entry point", () => {
    const actual = JSON.parse(run(process.execPath, ["node/exports.mjs"]));
    const expected = JSON.parse(readFileSync(join(here, "exports.json"), "utf8"));
    expect(actual, expected, "exports (update test/consumer/exports.json on purpose)");
  });

  /** @type {Record<string, string>} */
  const sizes = {};
  /** @type {[string, string][]} */
  const workers = [
    ["service", "service/wrangler.toml"],
    ["hosted", "hosted/wrangler.toml"],
    ["sessions", "node_modules/edge-sessions/wrangler.toml"],
  ];
  for (const [name, config] of workers) {
    sizes[name] = await step(`wrangler deploy --dry-run (${config})`, () => dryRun(name, config));
  }

  await step(
    "framework builds: React Router (react-router build), Astro (astro build)",
    () => frameworkBuilds,
  );

  const token = randomBytes(24).toString("base64url");
  const ownRegistry = { cwd: app, env: envOwnRegistry };
  // The framework apps: each in one process with a session worker of its own (the README's
  // default), on a registry of their own.
  const frameworkEnv = { ...env, WRANGLER_REGISTRY_PATH: join(work, "registry-frameworks") };
  const [sessionsUrl, serviceUrl, hostedUrl, serviceBUrl, reactRouterUrl, astroUrl] = await step(
    "wrangler dev: two projects and two framework apps, six processes",
    () =>
      Promise.all([
        // Project A: the README's two-process recipe, with the HTTP API.
        wranglerDev(
          0,
          "sessions",
          [
            "-c",
            "node_modules/edge-sessions/wrangler.toml",
            "--var",
            `SESSIONS_API_TOKEN:${token}`,
          ],
          "/healthz",
          ownRegistry,
        ),
        wranglerDev(1, "service", ["-c", "service/wrangler.toml"], "/favicon.ico", ownRegistry),
        wranglerDev(2, "hosted", ["-c", "hosted/wrangler.toml"], "/favicon.ico", ownRegistry),
        // Project B: the README's default, one process, on the machine's shared registry.
        wranglerDev(
          3,
          "service-b",
          ["-c", "service/wrangler.toml", "-c", "node_modules/edge-sessions/wrangler.toml"],
          "/favicon.ico",
          { cwd: appB },
        ),
        // The framework apps as built (each build writes the Worker's config beside its output).
        wranglerDev(
          4,
          "react-router",
          ["-c", "build/server/wrangler.json", "-c", "../node_modules/edge-sessions/wrangler.toml"],
          "/count",
          { cwd: join(app, "react-router"), env: frameworkEnv },
        ),
        wranglerDev(
          5,
          "astro",
          ["-c", "dist/server/wrangler.json", "-c", "../node_modules/edge-sessions/wrangler.toml"],
          "/count",
          { cwd: join(app, "astro"), env: frameworkEnv },
        ),
      ]),
  );

  await step("HTTP API: refuses a wrong token", async () => {
    const response = await fetch(`${sessionsUrl}/v1/apps/shop`, {
      headers: { authorization: "Bearer wrong" },
    });
    expect(response.status, 401, "status without the token");
  });

  await step("plain Node program over HTTP", () => {
    const out = run(process.execPath, ["node/client.mjs"], app, {
      SESSIONS_URL: sessionsUrl,
      SESSIONS_TOKEN: token,
    });
    process.stdout.write(`\n${out.replace(/^/gm, "  ")}`);
  });

  await step("service-bound Worker with the Hono middleware", async () => {
    const visit = browser(serviceUrl);
    expect(await visit("GET", "/"), { status: 200, body: { visits: 1 } }, "first visit");
    expect(await visit("GET", "/"), { status: 200, body: { visits: 2 } }, "second visit");
    expect(await browser(serviceUrl)("GET", "/"), { status: 200, body: { visits: 1 } }, "other");
  });

  await step("two projects: each Worker reaches only its own session worker", async () => {
    /** The session a Worker's visitor has in project A's session worker (its HTTP API). */
    const storedInA = async (/** @type {string} */ cookie) => {
      const id = cookie.slice("sid=".length).split(".")[0];
      const response = await fetch(`${sessionsUrl}/v1/apps/consumer/sessions/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.status !== 200) return response.status;
      return /** @type {{ data: unknown }} */ (await response.json()).data;
    };
    const visitA = browser(serviceUrl);
    expect(await visitA("GET", "/"), { status: 200, body: { visits: 1 } }, "A: first visit");
    expect(await visitA("GET", "/"), { status: 200, body: { visits: 2 } }, "A: second visit");
    const visitB = browser(serviceBUrl);
    expect(await visitB("GET", "/"), { status: 200, body: { visits: 1 } }, "B: first visit");
    expect(await visitB("GET", "/"), { status: 200, body: { visits: 2 } }, "B: second visit");
    // A's writes are in A's session worker; B's are not.
    expect(await storedInA(visitA.cookie()), { visits: 2 }, "A's session in A's session worker");
    expect(await storedInA(visitB.cookie()), 404, "B's session in A's session worker");
    // A's cookie means nothing in B (B's session worker never saw it), and the reverse.
    const aInB = await fetch(`${serviceBUrl}/`, { headers: { cookie: visitA.cookie() } });
    expect(await aInB.json(), { visits: 1 }, "A's cookie in B");
    const bInA = await fetch(`${serviceUrl}/`, { headers: { cookie: visitB.cookie() } });
    expect(await bInA.json(), { visits: 1 }, "B's cookie in A");
    expect(await visitA("GET", "/"), { status: 200, body: { visits: 3 } }, "A: third visit");
    expect(await visitB("GET", "/"), { status: 200, body: { visits: 3 } }, "B: third visit");
  });

  await step("Worker hosting the Durable Object", async () => {
    const visit = browser(hostedUrl);
    expect(await visit("GET", "/"), { status: 200, body: { visits: 1 } }, "first visit");
    expect(await visit("GET", "/"), { status: 200, body: { visits: 2 } }, "second visit");
    expect((await visit("POST", "/logout")).status, 204, "logout");
    expect(await visit("GET", "/"), { status: 200, body: { visits: 1 } }, "after logout");
    const ended = (await visit("GET", "/ended")).body;
    expect(
      Array.isArray(ended) && ended.length === 1 && /:invalidated$/.test(String(ended[0])),
      true,
      `ended sessions ${JSON.stringify(ended)}`,
    );
  });

  await step("framework apps: login, count, 16 at once with one cookie, logout", async () => {
    const [reactRouter, astro] = await Promise.all([
      countingApp(reactRouterUrl, "React Router", 409),
      // Astro stores the session after the response is made: a refused write answers 500.
      countingApp(astroUrl, "Astro", 500),
    ]);
    console.log(`\n  React Router: ${reactRouter}; Astro: ${astro}`);
  });

  console.log(
    `\nConsumer test passed in ${((Date.now() - started) / 1000).toFixed(0)} s. ` +
      `Bundles: service-bound Worker ${sizes.service}, hosting Worker ${sizes.hosted}, ` +
      `session worker ${sizes.sessions}.`,
  );
} catch (error) {
  failed = true;
  console.error(`\nConsumer test failed: ${error instanceof Error ? error.message : error}`);
  for (const [log, output] of logs) writeFileSync(log, output());
  console.error(`Files kept in ${work} (each wrangler dev's output in its .log)`);
} finally {
  stopServers();
  if (!failed && !process.env.KEEP) rmSync(work, { recursive: true, force: true });
  else if (!failed) console.log(`Files kept in ${work}`);
}
process.exitCode = failed ? 1 : 0;
