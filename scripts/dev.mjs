#!/usr/bin/env node
// `npm start`: make sure .dev.vars exists (copied from .dev.vars.example), then run
// `wrangler dev` on 127.0.0.1:8787. Extra arguments are passed through to wrangler.
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

const wrangler = join(root, "node_modules", ".bin", "wrangler");
const child = spawn(
  wrangler,
  ["dev", "--ip", "127.0.0.1", "--port", "8787", ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
