// The package's public API is a decision, not whatever an index happens to re-export: the root and
// other entries export exactly the names listed in test/consumer/exports.json (which the README's
// "What is public" section lists too). The consumer test checks the built package the same way.
import { describe, expect, it } from "vitest";
import * as hono from "../../src/hono/index";
import * as root from "../../src/index";
import * as reactRouter from "../../src/react-router/index";
import * as unstorage from "../../src/unstorage/index";
import exportsJson from "../consumer/exports.json?raw";

const expected = JSON.parse(exportsJson) as Record<string, string[]>;

describe("the public API", () => {
  it("exports exactly the listed names from the root entry", () => {
    expect(Object.keys(root).sort()).toEqual([...(expected["edge-sessions"] ?? [])].sort());
  });

  it("exports exactly the listed names from the hono entry", () => {
    expect(Object.keys(hono).sort()).toEqual([...(expected["edge-sessions/hono"] ?? [])].sort());
  });

  it("exports exactly the listed names from the react-router entry", () => {
    expect(Object.keys(reactRouter).sort()).toEqual(
      [...(expected["edge-sessions/react-router"] ?? [])].sort(),
    );
  });

  it("exports exactly the listed names from the unstorage entry", () => {
    expect(Object.keys(unstorage).sort()).toEqual(
      [...(expected["edge-sessions/unstorage"] ?? [])].sort(),
    );
  });
});
