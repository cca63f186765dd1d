/**
 * Shared by test/core/properties.test.ts (over `MemoryStore`) and
 * test/workers/sql-store-model.test.ts (over the object's `SqlStore`).
 *
 * Property-based tests of two promises of the engine, over random sequences of changesets,
 * accesses, clock moves, sweeps and settings changes on one store:
 *
 * - a changeset that changes no data (and assigns no lastModified) stores nothing and emits
 *   nothing: no row written, no event, the stored session unchanged;
 * - a settings change (timeout or period, raised or lowered) never ends a session sooner than
 *   `timeout` after its last access.
 *
 * A settings change is what the Durable Object does on `configure`: a new engine with the new
 * settings over the same store.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { SessionEngine } from "../../src/core/engine";
import { resolveSettings } from "../../src/core/settings";
import {
  type Changeset,
  ConflictError,
  type JsonObject,
  SessionEndEvent,
  type SessionEvent,
  type SessionSettings,
} from "../../src/index";
import type { StoreUnderTest } from "./store-under-test";

const KEYS = ["a", "b"] as const;
const FIELDS = ["x", "y", "z"] as const;

export type Op =
  | {
      kind: "commit";
      key: string;
      version: "current" | "zero" | "stale";
      clear: boolean;
      set: Record<string, number>;
      delete: string[];
      lastModified: boolean;
    }
  | { kind: "access"; key: string }
  | { kind: "tick"; tenths: number }
  | { kind: "sweep" }
  | { kind: "configure"; settings: Pick<SessionSettings, "timeout" | "period"> };

const key = fc.constantFrom(...KEYS);
export const settings = fc
  .record({
    period: fc.constantFrom(0.5, 1, 2, 3, 7, 10, 20, 60),
    timeout: fc.integer({ min: 1, max: 240 }),
  })
  .map(({ period, timeout }) => ({ period, timeout: Math.max(timeout, period) }));
export const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("commit" as const),
      key,
      version: fc.constantFrom(
        "current" as const,
        "current" as const,
        "zero" as const,
        "stale" as const,
      ),
      clear: fc.constantFrom(false, false, false, true),
      set: fc.dictionary(fc.constantFrom(...FIELDS), fc.integer({ min: 0, max: 1 }), {
        maxKeys: 2,
      }),
      delete: fc.subarray([...FIELDS], { maxLength: 2 }),
      lastModified: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("access" as const), key }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      tenths: fc.integer({ min: 0, max: 900 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sweep" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("configure" as const), settings }) },
);

/** Seen across all runs: each kind of case must come up, or the properties are vacuous. */
export const seen = { noop: 0, stored: 0, expired: 0, shortened: 0 };

/** Floating-point slack on times (periods like 0.5 and clock moves in tenths of seconds). */
const SLACK = 1e-6;

function dataAfter(before: JsonObject, op: Extract<Op, { kind: "commit" }>): JsonObject {
  const data: JsonObject = op.clear ? {} : { ...before };
  for (const k of op.delete) delete data[k];
  for (const [k, v] of Object.entries(op.set)) data[k] = v;
  return data;
}

function sameData(a: JsonObject, b: JsonObject): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/** The random op sequences `run` takes. */
export const ops = (maxLength = 60) => fc.array(op, { minLength: 5, maxLength });

/** Runs `ops` on an engine over a fresh store from `fresh`, checking both promises at each step. */
export function run(
  initial: Pick<SessionSettings, "timeout" | "period">,
  ops: Op[],
  fresh: () => StoreUnderTest,
): void {
  const under = fresh();
  const { store } = under;
  const events: SessionEvent[] = [];
  let now = 1000.3;
  const open = (given: Partial<SessionSettings>) =>
    new SessionEngine({
      app: "props",
      settings: resolveSettings(given),
      store,
      emit: (e) => events.push(...e),
    });
  let engine = open(initial);
  /** When each stored session was last accessed (or stored), by key. */
  const lastAccess = new Map<string, number>();

  /** Every expired end among `fresh` events came at least `timeout` after the last access. */
  const checkEnds = (fresh: SessionEvent[]) => {
    for (const event of fresh) {
      if (event.type === "begin") continue;
      const end = event as SessionEndEvent;
      expect(end).toBeInstanceOf(SessionEndEvent);
      const last = lastAccess.get(end.key) as number;
      expect(last).toBeDefined();
      if (end.reason === "expired") {
        seen.expired++;
        expect(now - last).toBeGreaterThanOrEqual(engine.settings.timeout - SLACK);
      }
      lastAccess.delete(end.key);
    }
  };
  const watch = <T>(fn: () => T): T => {
    const from = events.length;
    const result = fn();
    checkEnds(events.slice(from));
    return result;
  };

  for (const o of ops) {
    switch (o.kind) {
      case "access": {
        const found = watch(() => engine.access(o.key, now));
        if (found !== undefined) lastAccess.set(o.key, now);
        break;
      }
      case "tick":
        now += o.tenths / 10;
        break;
      case "sweep":
        watch(() => engine.sweep(now));
        break;
      case "configure":
        if (o.settings.timeout < engine.settings.timeout) seen.shortened++;
        engine = open({ ...engine.settings, ...o.settings });
        break;
      case "commit": {
        // End what has expired first, so that the commit's own effects stand alone.
        watch(() => engine.sweep(now));
        const stored = store.load(o.key);
        const base =
          stored === undefined || o.version === "zero"
            ? { sid: null, version: 0 }
            : o.version === "stale" && stored.version > 1
              ? { sid: stored.sid, version: stored.version - 1 }
              : { sid: stored.sid, version: stored.version };
        const changes: Changeset = { key: o.key, ...base };
        if (o.clear) changes.clear = true;
        const deleted = o.delete.filter((k) => !Object.hasOwn(o.set, k));
        if (deleted.length > 0) changes.delete = deleted;
        if (Object.keys(o.set).length > 0) changes.set = o.set;
        if (o.lastModified) changes.lastModified = now;
        const noData = sameData(stored?.data ?? {}, dataAfter(stored?.data ?? {}, o));
        // An assigned lastModified other than the stored one is a change of a stored session
        // (never of a new one). The clock never goes back, so the stored one is at most `now`.
        const noChange =
          noData && (stored === undefined || !o.lastModified || stored.lastModified === now);
        const writes = under.rowsWritten();
        const from = events.length;
        let result: ReturnType<SessionEngine["commit"]>;
        try {
          result = under.group(() => engine.commit(changes, now));
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          // Refused: nothing written either.
          expect(under.rowsWritten()).toBe(writes);
          expect(events.length).toBe(from);
          break;
        }
        if (noChange) {
          seen.noop++;
          expect(under.rowsWritten()).toBe(writes);
          expect(events.slice(from)).toEqual([]);
          if (stored === undefined) expect(result).toBeNull();
          else expect(result?.version).toBe(stored.version);
          expect(store.load(o.key)).toBe(stored);
          expect(under.stored(o.key)).toEqual(stored);
        } else {
          seen.stored++;
          expect(result).not.toBeNull();
          expect(under.rowsWritten()).toBeGreaterThan(writes);
          lastAccess.set(o.key, now);
          checkEnds(events.slice(from));
        }
        break;
      }
    }
  }
  // In the end every session expires, each once, never sooner than the timeout.
  now += 10 * 365 * 24 * 3600;
  watch(() => engine.sweep(now));
  expect(store.count()).toBe(0);
  for (const key of KEYS) expect(under.stored(key)).toBeUndefined();
  expect(lastAccess.size).toBe(0);
  const begins = events.filter((e) => e.type === "begin").map((e) => e.id.split(":")[0]);
  const ends = events.filter((e) => e.type === "end").map((e) => e.id.split(":")[0]);
  expect(ends.sort()).toEqual(begins.sort());
}
