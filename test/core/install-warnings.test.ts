// What `npm ci` warns on a fresh clone under Node 20, which the README's Quick start says is
// enough to run npm: one `EBADENGINE` per package that asks for a newer Node. docs/hosting.md
// ("Working on this repository") names them, and this test keeps its count and names in step with
// package-lock.json.
import { describe, expect, it } from "vitest";
import hosting from "../../docs/hosting.md?raw";
import lock from "../../package-lock.json";
import readme from "../../README.md?raw";

/** The Node that npm runs on in the README's case: Node 20 (20.19 or later). */
const NODE_20 = [20, 19, 0] as const;

type Version = readonly [number, number, number];

function parse(text: string): Version {
  const [major, minor, patch] = text
    .split(".")
    .map((part) => (/^\d+$/.test(part) ? Number(part) : 0));
  return [major ?? 0, minor ?? 0, patch ?? 0];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether `version` satisfies one comparator of an npm range (`>=22`, `^20.19.0`, `<21`, …). */
function satisfiesComparator(version: Version, comparator: string): boolean {
  const match = /^(>=|<=|>|<|\^|~|=)?v?([\d.*x]+)$/.exec(comparator);
  if (match === null) throw new Error(`a range this test cannot read: ${comparator}`);
  const [, op = "=", text = ""] = match;
  const bound = parse(text);
  const order = compare(version, bound);
  switch (op) {
    case ">=":
      return order >= 0;
    case ">":
      return order > 0;
    case "<=":
      return order <= 0;
    case "<":
      return order < 0;
    case "^":
      return order >= 0 && version[0] === bound[0];
    case "~":
      return order >= 0 && version[0] === bound[0] && version[1] === bound[1];
    default:
      // A bare version, possibly with wildcards (`10.*`): equal on the parts it gives.
      return text.split(".").every((part, i) => /^[*x]$/.test(part) || Number(part) === version[i]);
  }
}

/** Whether `version` satisfies an npm range (`a b || c`). */
function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((set) =>
    set
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, "$1")
      .split(/\s+/)
      .every((comparator) => satisfiesComparator(version, comparator)),
  );
}

const NUMBERS = [
  "no",
  "once",
  "twice",
  "three times",
  "four times",
  "five times",
  "six times",
  "seven times",
  "eight times",
  "nine times",
  "ten times",
];

describe("npm ci on Node 20", () => {
  it("is enough to run npm, as the README's Quick start says, pointing to the details", () => {
    const quickStart = readme.slice(readme.indexOf("## Quick start"));
    expect(quickStart).toMatch(/system Node 20 is enough to\s+run npm/);
    expect(quickStart).toContain("docs/hosting.md#working-on-this-repository");
  });

  const packages = lock.packages as Record<
    string,
    { name?: string; engines?: { node?: string }; optional?: boolean }
  >;
  const refused = Object.entries(packages)
    .filter(([, entry]) => entry.optional !== true)
    .filter(([, entry]) => entry.engines?.node !== undefined)
    .filter(([, entry]) => !satisfies(NODE_20, entry.engines?.node as string))
    .map(([path, entry]) =>
      path === "" ? (entry.name ?? lock.name) : path.replace(/^.*node_modules\//, ""),
    );

  it("reads the ranges right", () => {
    expect(satisfies([20, 19, 0], ">=20.12.0 <21 || >=22.0.0")).toBe(true);
    expect(satisfies([20, 19, 0], "^22.12.0 || ^24.0.0 || >=26.0.0")).toBe(false);
    expect(satisfies([20, 19, 0], "10.* || >= 12.*")).toBe(true);
    expect(satisfies([20, 19, 0], "^20.19.0 || >=22.12.0")).toBe(true);
    expect(satisfies([20, 18, 0], "^20.19.0 || >=22.12.0")).toBe(false);
  });

  it("warns EBADENGINE as many times as docs/hosting.md says, for the packages it names", () => {
    const start = hosting.indexOf("\n## Working on this repository\n");
    expect(start).toBeGreaterThan(-1);
    const quickStart = hosting.slice(start);
    expect(quickStart).toContain(
      `\`npm ci\` prints \`npm warn EBADENGINE\` ${NUMBERS[refused.length]}`,
    );
    for (const name of new Set(refused)) {
      expect(name === lock.name || quickStart.includes(`\`${name}\``), name).toBe(true);
    }
  });
});
