// Typechecks the code in the docs: every ```ts block of README.md and docs/*.md is written to
// .wrangler/docs-check/ as a module of its own and compiled with the project's strict settings,
// the package's names ("edge-sessions", "edge-sessions/hono", "edge-sessions/durable-object", …)
// mapped to the source. A renamed export, option or method breaks `npm run typecheck` (which runs
// this script) until the docs say the new name. Every ```js block is checked the same way as a
// Node program (Node's types, checkJs).
//
// It also checks every relative link of those documents and of BENCHMARKS.md and SECURITY.md: the
// file must exist, and an `#anchor` must be a heading of that file (GitHub's slugs).
//
// Fragments may use the few names that docs/prelude.d.ts declares (a Worker's `env`, a `factory`,
// a session `key`, …) and nothing else: everything a block imports, it imports itself.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, normalize } from "node:path";

const root = join(import.meta.dirname, "..");
const out = join(root, ".wrangler", "docs-check");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

const documents = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/** Where each written file's first line comes from: `file` → [document, line of the block]. */
/** @type {Map<string, [string, number]>} */
const origins = new Map();
/** @type {Record<string, number>} */
const counts = { ts: 0, js: 0 };

rmSync(out, { recursive: true, force: true });
for (const language of ["ts", "js"]) mkdirSync(join(out, language), { recursive: true });

for (const document of documents) {
  const lines = readFileSync(join(root, document), "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const language = /^```(ts|js)$/.exec(lines[i] ?? "")?.[1];
    if (language === undefined) continue;
    const end = lines.indexOf("```", i + 1);
    if (end === -1) throw new Error(`${document}:${i + 1}: a \`\`\`${language} block never closed`);
    const name = `${document.replace(/[/.]/g, "_")}_${i + 2}.${language}`;
    // `export {}` makes each block a module: its names are its own, whatever other blocks declare.
    writeFileSync(join(out, language, name), `${lines.slice(i + 1, end).join("\n")}\nexport {};\n`);
    origins.set(name, [document, i + 2]);
    counts[language] = (counts[language] ?? 0) + 1;
    i = end;
  }
}

const paths = {
  "edge-sessions": ["../../../src/index.ts"],
  "edge-sessions/hono": ["../../../src/hono/index.ts"],
  "edge-sessions/react-router": ["../../../src/react-router/index.ts"],
  "edge-sessions/unstorage": ["../../../src/unstorage/index.ts"],
  "edge-sessions/durable-object": ["../../../durable-object/index.ts"],
};
writeFileSync(
  join(out, "ts", "tsconfig.json"),
  JSON.stringify({
    extends: "../../../tsconfig.json",
    compilerOptions: { paths, types: ["@cloudflare/workers-types"] },
    include: ["*.ts", "../../../docs/prelude.d.ts"],
  }),
);
writeFileSync(
  join(out, "js", "tsconfig.json"),
  JSON.stringify({
    extends: "../../../tsconfig.node.json",
    compilerOptions: { paths },
    include: ["*.js"],
  }),
);

let failed = false;

/**
 * The anchors GitHub makes for a Markdown file's headings, and its `<a id="…">` tags.
 * @param {string} text
 */
function anchorsOf(text) {
  const anchors = new Set([...text.matchAll(/<a id="([^"]+)">/g)].map((match) => match[1]));
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

for (const document of [...documents, "BENCHMARKS.md", "SECURITY.md"]) {
  const text = readFileSync(join(root, document), "utf8").replace(/```[\s\S]*?```/g, "");
  for (const [, target = ""] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
    const [path = "", anchor] = target.split("#");
    const file = path === "" ? document : normalize(join(dirname(document), path));
    if (!existsSync(join(root, file))) {
      failed = true;
      process.stderr.write(`${document}: a link to ${target}, which does not exist\n`);
    } else if (anchor !== undefined && file.endsWith(".md")) {
      if (!anchorsOf(readFileSync(join(root, file), "utf8")).has(anchor)) {
        failed = true;
        process.stderr.write(`${document}: a link to ${target}: ${file} has no such heading\n`);
      }
    }
  }
}
for (const language of ["ts", "js"]) {
  if (counts[language] === 0) continue;
  try {
    execFileSync(process.execPath, [tsc, "-p", join(out, language), "--pretty", "false"], {
      cwd: root,
      encoding: "utf8",
    });
  } catch (caught) {
    failed = true;
    const error = /** @type {{ stdout?: string, stderr?: string }} */ (caught);
    // Point each error at the document's own line: `README_md_120.ts(3,5)` → `README.md:122:5`.
    const text = `${error.stdout ?? ""}${error.stderr ?? ""}`.replace(
      /\S*?([\w]+\.(?:ts|js))\((\d+),(\d+)\)/g,
      (whole, name, line, column) => {
        const origin = origins.get(name);
        return origin ? `${origin[0]}:${origin[1] + Number(line) - 1}:${column}` : whole;
      },
    );
    process.stderr.write(text);
  }
}
if (failed) {
  process.stderr.write("A code block or a link in the docs is wrong (see above).\n");
  process.exit(1);
}
console.log(
  `docs: ${counts.ts} TypeScript and ${counts.js} JavaScript blocks of ${documents.length} documents typecheck; links resolve`,
);
