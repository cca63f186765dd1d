import { describe, expect, it } from "vitest";
import clients from "../../docs/clients.md?raw";
import hono from "../../docs/hono.md?raw";
import hostingGuide from "../../docs/hosting.md?raw";
import httpApi from "../../docs/http-api.md?raw";
import operating from "../../docs/operating.md?raw";
import readme from "../../README.md?raw";
import devicesSnippet from "../workers/readme-devices.ts?raw";
import hosting from "../workers/readme-hosting.ts?raw";
import snippet from "../workers/readme-middleware.ts?raw";

/** The first TypeScript block after `heading` in `doc`. */
function blockAfter(doc: string, heading: string): string {
  const start = `\n${doc}`.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`no heading "${heading}"`);
  const match = /```ts\n([\s\S]*?)```/.exec(doc.slice(start));
  if (match === null) throw new Error(`no ts block after "${heading}"`);
  return match[1] as string;
}

/** `code` with its import lines in one order (the formatter sorts them by path in a file). */
function importsSorted(code: string): string {
  const lines = code.split("\n");
  const imports = lines.filter((line) => line.startsWith("import "));
  return [...imports.sort(), ...lines.filter((line) => !line.startsWith("import "))].join("\n");
}

describe("the subclass snippet of docs/hosting.md", () => {
  it("is the code of test/workers/readme-hosting.ts, which typechecks strictly", () => {
    const marked = /\/\/ README: begin\n([\s\S]*?)\/\/ README: end/.exec(hosting);
    const tested = (marked?.[1] ?? "")
      .replace('from "../../src/index"', 'from "edge-sessions"')
      .replace('from "../../durable-object/index"', 'from "edge-sessions/durable-object"');
    expect(importsSorted(blockAfter(hostingGuide, "## Hosting the Durable Object yourself"))).toBe(
      importsSorted(tested),
    );
  });
});

describe("the middleware snippet of docs/hono.md", () => {
  it("is the code that test/workers/readme-middleware.test.ts runs", () => {
    const marked = /\/\/ README: begin\n([\s\S]*?)\/\/ README: end/.exec(snippet);
    const tested = (marked?.[1] ?? "")
      .replace('from "../../src/index"', 'from "edge-sessions"')
      .replace('from "../../src/hono/index"', 'from "edge-sessions/hono"');
    expect(importsSorted(blockAfter(hono, "# The Hono middleware"))).toBe(importsSorted(tested));
  });
});

describe("the users snippet of docs/hono.md", () => {
  it("is the code that test/workers/readme-devices.test.ts runs", () => {
    const marked = /\/\/ README: begin\n([\s\S]*?)\/\/ README: end/.exec(devicesSnippet);
    const tested = (marked?.[1] ?? "")
      .replace('from "../../src/index"', 'from "edge-sessions"')
      .replace('from "../../src/hono/index"', 'from "edge-sessions/hono"');
    expect(importsSorted(blockAfter(hono, "## Users and devices"))).toBe(importsSorted(tested));
  });
});

/** `doc` from `heading` up to the next heading of the same or a higher level. */
function section(doc: string, heading: string): string {
  const lines = doc.split("\n");
  const start = lines.indexOf(heading);
  if (start === -1) throw new Error(`no heading "${heading}"`);
  const level = heading.indexOf(" ");
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith("```")) fenced = !fenced;
    const hashes = /^(#+) /.exec(line)?.[1]?.length;
    if (!fenced && hashes !== undefined && hashes <= level) {
      return lines.slice(start, i).join("\n");
    }
  }
  return lines.slice(start).join("\n");
}

describe("the docs' sections that a user of the installed package follows", () => {
  // The package ships dist/, src/, durable-object/, worker/ and wrangler.toml (package.json
  // "files"): a path into the repository's tests, examples or scripts is nowhere in node_modules.
  it.each([
    ["README.md", "## Three ways to use it", readme],
    ["docs/hosting.md", "## Two ways to host the sessions", hostingGuide],
    ["docs/hosting.md", "## Hosting the Durable Object yourself", hostingGuide],
    ["docs/hosting.md", "## Local development", hostingGuide],
    ["docs/clients.md", "# The clients: RPC, HTTP and in process", clients],
    // Up to the example app, which lives in this repository only.
    [
      "docs/hono.md",
      "# The Hono middleware",
      hono.slice(0, hono.indexOf("\n## The example app\n")),
    ],
  ])("%s, %s, points to no file the package does not ship", (_name, heading, doc) => {
    const unshipped = section(doc, heading).match(
      /\b(?:test|examples|scripts|bench|soak)\/[\w./-]+/g,
    );
    expect(unshipped ?? []).toEqual([]);
  });
});

describe("the shell examples of the README and the guides", () => {
  it("create sessions only under a key made new in the same block, so each can be run twice", () => {
    const docs = [readme, clients, hono, hostingGuide, httpApi, operating].join("\n");
    const blocks = [...docs.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const creating = blocks.filter((block) => /"version":0|If-None-Match: \*/.test(block));
    expect(creating.length).toBeGreaterThanOrEqual(2);
    for (const block of creating) {
      const paths = [...block.matchAll(/\/sessions\/([^\s'"\\/]+)/g)].map((m) => m[1] as string);
      expect(paths.length).toBeGreaterThan(0);
      for (const key of paths) {
        // A variable set in this block from the clock, never a fixed key.
        expect(key).toMatch(/^\$[A-Z_]+$/);
        expect(block).toMatch(new RegExp(`(^|; *)${key.slice(1)}=[^;\\n]*\\$\\(date \\+%s`, "m"));
      }
    }
  });
});
