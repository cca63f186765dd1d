/**
 * The model of the session rules that test/core/model.test.ts (over `MemoryStore`) and
 * test/workers/sql-store-model.test.ts (over the object's `SqlStore`) check the core against.
 *
 * Property-based test of the core against a simple model of the session rules (docs/DESIGN.md#session-rules): random interleavings of
 * get/query/has, changes, commit, abort, invalidate, sweep and clock moves across two managers on
 * one store. The model keeps every stored version of every session and decides conflicts from
 * those snapshots, independently of the engine's per-key bookkeeping.
 */
import fc from "fast-check";
import { expect } from "vitest";
import {
  ConflictError,
  type SessionData,
  SessionDataManager,
  type SessionEvent,
} from "../../src/index";
import type { StoreUnderTest } from "./store-under-test";

const TIMEOUT = 60;
const PERIOD = 10;
const KEYS = ["s1", "s2"] as const;
const FIELDS = ["a", "b", "c"] as const;

type Rec = Record<string, number>;

/** A stored session in the model: every version's data, and whether that version cleared. */
interface ModelSession {
  sid: number;
  history: { data: Rec; cleared: boolean }[];
  slice: number;
}

/** What one manager's unit of work holds for one key, as the model sees it. */
interface ModelEntry {
  base: { sid: number; version: number } | null;
  view: Rec;
  set: Map<string, number>;
  deleted: Set<string>;
  cleared: boolean;
  invalidated: boolean;
}

export type Op =
  | { kind: "read"; m: 0 | 1; how: "get" | "query" | "has"; key: string }
  | { kind: "set"; m: 0 | 1; key: string; field: string; value: number }
  | { kind: "delete"; m: 0 | 1; key: string; field: string }
  | { kind: "clear"; m: 0 | 1; key: string }
  | { kind: "invalidate"; m: 0 | 1; key: string }
  | { kind: "commit"; m: 0 | 1 }
  | { kind: "abort"; m: 0 | 1 }
  | { kind: "sweep" }
  | { kind: "tick"; seconds: number };

const m = fc.constantFrom(0 as const, 1 as const);
const key = fc.constantFrom(...KEYS);
const field = fc.constantFrom(...FIELDS);
export const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      m,
      how: fc.constantFrom("get" as const, "query" as const, "has" as const),
      key,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("set" as const),
      m,
      key,
      field,
      value: fc.integer({ min: 0, max: 1 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), m, key, field }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const), m, key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("invalidate" as const), m, key }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("commit" as const), m }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("abort" as const), m }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sweep" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      seconds: fc.integer({ min: 1, max: 40 }),
    }),
  },
);

class Model {
  now = 1000;
  sessions = new Map<string, ModelSession>();
  units: [Map<string, ModelEntry>, Map<string, ModelEntry>] = [new Map(), new Map()];
  begins = 0;
  ends = 0;
  #nextSid = 1;

  get slice(): number {
    return this.now - (this.now % PERIOD);
  }

  version(s: ModelSession): number {
    return s.history.length - 1;
  }

  current(s: ModelSession): Rec {
    return (s.history.at(-1) as { data: Rec }).data;
  }

  /** The live stored session; an expired one ends here. */
  live(key: string, sessions = this.sessions): ModelSession | undefined {
    const s = sessions.get(key);
    if (s === undefined) return undefined;
    if (this.slice - s.slice > TIMEOUT) {
      sessions.delete(key);
      this.ends++;
      return undefined;
    }
    return s;
  }

  /** get/query/has: returns the view, or undefined when the read finds nothing. */
  read(mi: 0 | 1, how: "get" | "query" | "has", key: string): ModelEntry | undefined {
    const unit = this.units[mi];
    const known = unit.get(key);
    if (known !== undefined) return known;
    this.sweep(); // an access ends whatever has expired meanwhile
    const s = this.live(key);
    if (s !== undefined) s.slice = this.slice;
    if (s === undefined && how !== "get") return undefined;
    const entry: ModelEntry = {
      base: s ? { sid: s.sid, version: this.version(s) } : null,
      view: s ? { ...this.current(s) } : {},
      set: new Map(),
      deleted: new Set(),
      cleared: false,
      invalidated: false,
    };
    unit.set(key, entry);
    return entry;
  }

  dirty(e: ModelEntry): boolean {
    return e.invalidated || e.cleared || e.set.size > 0 || e.deleted.size > 0;
  }

  /** Commits manager `mi`'s unit of work, all or nothing. Returns whether it conflicted. */
  commit(mi: 0 | 1): boolean {
    const unit = this.units[mi];
    this.units[mi] = new Map();
    const sessions = new Map(this.sessions);
    let begins = 0;
    const endsBefore = this.ends;
    for (const [key, e] of unit) {
      if (!this.dirty(e)) continue;
      const stored = this.live(key, sessions);
      if (e.base !== null && (stored === undefined || stored.sid !== e.base.sid)) {
        this.ends = endsBefore;
        return true;
      }
      if (stored === undefined) {
        if (e.invalidated) continue;
        const data = this.applied({}, e);
        // A new session is stored only once it holds data.
        if (Object.keys(data).length === 0) continue;
        sessions.set(key, {
          sid: this.#nextSid++,
          history: [
            { data: {}, cleared: false },
            { data, cleared: false },
          ],
          slice: this.slice,
        });
        begins++;
        continue;
      }
      if (e.invalidated) {
        // Invalidating a snapshot that was never stored leaves another's session alone.
        if (e.base === null) continue;
        sessions.delete(key);
        this.ends++;
        continue;
      }
      const base = e.base?.version ?? 0;
      if (this.conflicts(stored, base, e)) {
        this.ends = endsBefore;
        return true;
      }
      const before = this.current(stored);
      const data = this.applied(before, e);
      // A change that leaves the data as it was stores nothing (docs/DESIGN.md#no-op-commit).
      if (sameData(before, data)) continue;
      sessions.set(key, {
        ...stored,
        history: [
          ...stored.history,
          { data, cleared: e.cleared && Object.keys(before).length > 0 },
        ],
        slice: this.slice,
      });
    }
    this.sessions = sessions;
    this.begins += begins;
    return false;
  }

  applied(before: Rec, e: ModelEntry): Rec {
    const data: Rec = e.cleared ? {} : { ...before };
    for (const k of e.deleted) delete data[k];
    for (const [k, v] of e.set) data[k] = v;
    return data;
  }

  /** Whether versions after `base` changed a key this entry changes (a clear: any key). */
  conflicts(s: ModelSession, base: number, e: ModelEntry): boolean {
    const changed = new Set<string>();
    let cleared = false;
    for (let v = base + 1; v < s.history.length; v++) {
      const prev = (s.history[v - 1] as { data: Rec }).data;
      const next = s.history[v] as { data: Rec; cleared: boolean };
      if (next.cleared) cleared = true;
      for (const k of new Set([...Object.keys(prev), ...Object.keys(next.data)])) {
        if (prev[k] !== next.data[k]) changed.add(k);
      }
    }
    if (e.cleared) return cleared || changed.size > 0;
    const touched = [...e.set.keys(), ...e.deleted];
    return touched.some((k) => cleared || changed.has(k));
  }

  sweep(): void {
    for (const key of [...this.sessions.keys()]) this.live(key);
  }
}

function sameData(a: Rec, b: Rec): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/** Commits seen across all runs: the generator must reach both outcomes, or the test is vacuous. */
export const outcomes = { conflict: 0, ok: 0 };

/** The random op sequences `run` takes. */
export const ops = (maxLength = 80) => fc.array(op, { minLength: 10, maxLength, size: "max" });

/** Runs `ops` on two managers over a fresh store from `fresh`, checking each step against the model. */
export function run(ops: Op[], fresh: () => StoreUnderTest): void {
  const { store, stored: storedNow, group } = fresh();
  const model = new Model();
  const clock = () => model.now;
  const managers = [0, 1].map(
    () => new SessionDataManager({ store, clock, timeout: TIMEOUT, period: PERIOD }),
  );
  const events: SessionEvent[] = [];
  managers[0]?.on("begin", (e) => events.push(e));
  managers[0]?.on("end", (e) => events.push(e));
  managers[1]?.on("begin", (e) => events.push(e));
  managers[1]?.on("end", (e) => events.push(e));
  const views: [Map<string, SessionData>, Map<string, SessionData>] = [new Map(), new Map()];

  /** The session object the op acts on: the manager's own (get), as the model's entry. */
  const target = (mi: 0 | 1, key: string): [SessionData, ModelEntry] | undefined => {
    const entry = model.read(mi, "get", key);
    const data = (managers[mi] as SessionDataManager).get(key);
    views[mi].set(key, data);
    return entry ? [data, entry] : undefined;
  };

  for (const o of ops) {
    switch (o.kind) {
      case "read": {
        const manager = managers[o.m] as SessionDataManager;
        const entry = model.read(o.m, o.how, o.key);
        if (o.how === "has") expect(manager.has(o.key)).toBe(entry !== undefined);
        else {
          const data = o.how === "get" ? manager.get(o.key) : manager.query(o.key);
          expect(data?.toJSON()).toEqual(entry?.view);
        }
        break;
      }
      case "set": {
        const t = target(o.m, o.key);
        if (t === undefined || t[1].invalidated) break;
        t[0].set(o.field, o.value);
        t[1].view[o.field] = o.value;
        t[1].set.set(o.field, o.value);
        t[1].deleted.delete(o.field);
        break;
      }
      case "delete": {
        const t = target(o.m, o.key);
        if (t === undefined || t[1].invalidated) break;
        const had = Object.hasOwn(t[1].view, o.field);
        expect(t[0].delete(o.field)).toBe(had);
        if (had) {
          delete t[1].view[o.field];
          t[1].set.delete(o.field);
          t[1].deleted.add(o.field);
        }
        break;
      }
      case "clear": {
        const t = target(o.m, o.key);
        if (t === undefined || t[1].invalidated) break;
        t[0].clear();
        t[1].view = {};
        t[1].set.clear();
        t[1].deleted.clear();
        t[1].cleared = true;
        break;
      }
      case "invalidate": {
        const t = target(o.m, o.key);
        if (t === undefined) break;
        t[0].invalidate();
        t[1].invalidated = true;
        break;
      }
      case "commit": {
        const expectConflict = model.commit(o.m);
        let conflicted = false;
        try {
          group(() => (managers[o.m] as SessionDataManager).commit());
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          conflicted = true;
        }
        expect(conflicted).toBe(expectConflict);
        outcomes[conflicted ? "conflict" : "ok"]++;
        views[o.m].clear();
        break;
      }
      case "abort":
        (managers[o.m] as SessionDataManager).abort();
        model.units[o.m] = new Map();
        views[o.m].clear();
        break;
      case "sweep":
        model.sweep();
        (managers[0] as SessionDataManager).sweep();
        break;
      case "tick":
        model.now += o.seconds;
        break;
    }
    // The store holds exactly the model's sessions, with the same data and versions: as it
    // answers (through any cache it keeps) and as its storage holds them.
    for (const key of KEYS) {
      const expected = model.sessions.get(key);
      for (const stored of [store.load(key), storedNow(key)]) {
        expect(stored === undefined).toBe(expected === undefined);
        if (stored !== undefined && expected !== undefined) {
          expect(stored.data).toEqual(model.current(expected));
          expect(stored.version).toBe(model.version(expected));
        }
      }
    }
  }
  // Finally everything expires: every begin has exactly one end, with the same session id.
  model.now += 10 * TIMEOUT;
  (managers[0] as SessionDataManager).sweep();
  const begins = events.filter((e) => e.type === "begin").map((e) => e.id.replace(/:begin$/, ""));
  const ends = events.filter((e) => e.type === "end").map((e) => e.id.replace(/:end$/, ""));
  expect(ends.sort()).toEqual(begins.sort());
  expect(new Set(ends).size).toBe(ends.length);
}
