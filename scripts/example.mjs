#!/usr/bin/env node
// `npm run example`: run the counter example (examples/counter) together with the session worker
// in one `wrangler dev`, which wires the example's service binding to the session worker. The
// example is the first (primary) config, so it answers on http://localhost:8788; the session
// worker runs beside it. Each worker's .dev.vars is created from its .dev.vars.example if missing.
// Extra arguments are passed through to wrangler, and an `--ip` or `--port` among them replaces the
// default (`npm run example -- --port 8802`).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", "counter");

for (const dir of [root, example]) {
  const devVars = join(dir, ".dev.vars");
  if (!existsSync(devVars)) {
    copyFileSync(join(dir, ".dev.vars.example"), devVars);
    console.log(`Created ${relative(root, devVars)} from .dev.vars.example`);
  }
}

// Wrangler's dev registry is shared by every project on the machine by default, and this worker
// is named edge-sessions in every copy of the package: keep this clone's dev workers in a
// registry of its own, so no other project's service binding reaches them (nor theirs these).
// A WRANGLER_REGISTRY_PATH of your own (to join another project on purpose) is kept.
const registry = process.env.WRANGLER_REGISTRY_PATH ?? join(root, ".wrangler", "registry");

const args = process.argv.slice(2);
const wrangler = join(root, "node_modules", ".bin", "wrangler");
const child = spawn(
  wrangler,
  [
    "dev",
    "-c",
    join(example, "wrangler.toml"),
    "-c",
    join(root, "wrangler.toml"),
    ...defaultOption(args, "--ip", "127.0.0.1"),
    ...defaultOption(args, "--port", "8788"),
    ...args,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_REGISTRY_PATH: registry } },
);

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});

/**
 * `[name, value]`, unless the user's arguments already give `name` (as `--name v` or `--name=v`):
 * wrangler refuses an option given twice.
 * @param {string[]} args
 * @param {string} name
 * @param {string} value
 */
function defaultOption(args, name, value) {
  return args.some((arg) => arg === name || arg.startsWith(`${name}=`)) ? [] : [name, value];
}
