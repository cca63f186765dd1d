#!/usr/bin/env node
// `npm run openapi`: writes openapi.json, the OpenAPI 3.1 document of the HTTP API, from its
// declarations in worker/api/schema.ts (the document GET /v1/openapi.json serves).
// `npm run openapi -- --check` (CI): fails when openapi.json is not that document.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "openapi.json");
const outfile = join(root, ".wrangler/openapi/openapi.mjs");

// The worker's modules import without extensions (bundler resolution): bundle them first.
await build({
  entryPoints: [join(root, "worker/api/openapi.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2023",
  mainFields: ["module", "main"],
  logLevel: "warning",
});
const { openApiDocument } = await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`);
const text = `${JSON.stringify(openApiDocument(), null, 2)}\n`;

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current !== text) {
    console.error(
      "openapi.json is stale: it is not the document worker/api/schema.ts declares. Run `npm run openapi` and commit openapi.json.",
    );
    process.exit(1);
  }
  console.log("openapi.json is up to date.");
} else {
  writeFileSync(file, text);
  console.log(`Wrote ${file}`);
}
