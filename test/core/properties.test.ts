/**
 * The engine's no-op commit and reconfiguration promises (test/core/session-properties.ts) over
 * `MemoryStore`. test/workers/sql-store-model.test.ts runs the same properties over `SqlStore`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ops, run, seen, settings } from "./session-properties";
import { memoryStore } from "./store-under-test";

describe("the engine over random changesets, accesses and settings changes", () => {
  it("stores and emits nothing for a changeset that changes no data, and never ends a session sooner than timeout after its last access", () => {
    fc.assert(
      fc.property(settings, ops(), (initial, list) => run(initial, list, memoryStore)),
      { numRuns: 500 },
    );
    expect(seen.noop).toBeGreaterThan(200);
    expect(seen.stored).toBeGreaterThan(500);
    expect(seen.expired).toBeGreaterThan(100);
    expect(seen.shortened).toBeGreaterThan(100);
  });
});
