#!/usr/bin/env node
// `npm start`: make sure .dev.vars exists (copied from .dev.vars.example), then run
// `wrangler dev` on 127.0.0.1:8787, with a dev registry of its own (see below). Extra arguments
// are passed through to wrangler, and an `--ip` or `--port` among them replaces the default
// (`npm start -- --port 8801`).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(root, ".dev.vars");
const example = join(root, ".dev.vars.example");

if (!existsSync(devVars)) {
  copyFileSync(example, devVars);
  console.log("Created .dev.vars from .dev.vars.example");
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
    ...defaultOption(args, "--ip", "127.0.0.1"),
    ...defaultOption(args, "--port", "8787"),
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
