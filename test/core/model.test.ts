/**
 * The core against a model of the session rules (test/core/session-model.ts) over `MemoryStore`.
 * test/workers/sql-store-model.test.ts runs the same model over the object's `SqlStore`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ops, outcomes, run } from "./session-model";
import { memoryStore } from "./store-under-test";

describe("the core against a model of the session rules", () => {
  it("agrees on data, versions, conflicts and events for random interleavings of two managers", () => {
    fc.assert(
      fc.property(ops(), (list) => run(list, memoryStore)),
      { numRuns: 400 },
    );
    expect(outcomes.conflict).toBeGreaterThan(50);
    expect(outcomes.ok).toBeGreaterThan(500);
  });
});
