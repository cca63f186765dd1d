import { describeError, SessionError } from "../../src/core/errors.js";
import type { StoredSession } from "../../src/core/session-view.js";
import {
  type Layout,
  MovedError,
  ownerOf,
  parseLayout,
  rotationShards,
  sourceOf,
  wrongShard,
} from "../../src/routing/layout.js";
import {
  type Answer,
  errorBody,
  errorFromBody,
  failure,
  type Result,
  resultOf,
} from "../../src/routing/wire.js";
import type { Alarm } from "../alarm/alarm.js";
import { moveInRows } from "../storage/rows.js";
import type { SqlStore } from "../storage/sql-store.js";
import type { Resharding } from "./resharding.js";

/**
 * The owner side of a move (docs/DESIGN.md#resharding): the ownership check of every session
 * operation, the redirection of keys this object does not own, the pull of a key from its source
 * on first access, and the sessions it takes in (pulled, or sent by a source's drain).
 */
export class MoveOwner {
  /** The layout as this object knows it, and the rest of the protocol (resharding.ts). */
  readonly #layout: Resharding;
  /** This object's name (`ctx.id.name`); without one, keys are never redirected or moved. */
  readonly #name: string | undefined;
  readonly #store: SqlStore;
  readonly #alarm: Alarm;
  readonly #waitUntil: (promise: Promise<unknown>) => void;
  /** Sessions taken in since the object started (for `stats`). */
  #movedIn = 0;
  readonly #pulling = new Map<string, Promise<void>>();
  /** Per source: keys waiting for the next hand-off call (one call in flight per source). */
  readonly #waiting = new Map<string, PullBatch>();
  readonly #inFlight = new Set<string>();
  /** Per source: hand-offs stored here and not yet confirmed (sent with the next call). */
  readonly #unconfirmed = new Map<string, { key: string; sid: string }[]>();

  constructor(
    layout: Resharding,
    name: string | undefined,
    store: SqlStore,
    alarm: Alarm,
    waitUntil: (promise: Promise<unknown>) => void,
  ) {
    this.#layout = layout;
    this.#name = name;
    this.#store = store;
    this.#alarm = alarm;
    this.#waitUntil = waitUntil;
  }

  /** Sessions taken in since the object started. */
  get movedIn(): number {
    return this.#movedIn;
  }

  /**
   * Runs a session operation on `keys` (the first is the session's key; `regenerate` adds the
   * new key) if this object owns them, after pulling them from their source during a move.
   * Otherwise answers `moved` (or `wrong_shard` for a second key). Synchronous in the steady
   * state; the ownership check and `run` always happen in one synchronous step.
   */
  guard<T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    run: () => Result<T> | Promise<Result<T>>,
  ): Result<T> | Promise<Result<T>> {
    const verdict = this.check(app, keys, epoch);
    if (verdict === "run") return run();
    if (verdict instanceof SessionError) return { ok: false, error: errorBody(verdict) };
    return this.#guardSlowly(app, keys, epoch, run);
  }

  /** `run`: owned and present (or nothing to pull); an error; or `slow`: learn or pull first. */
  check(app: string, keys: string[], epoch: number | undefined): "run" | "slow" | SessionError {
    const name = this.#name;
    if (name === undefined) return "run";
    const layout = this.#layout.current(app);
    if (
      epoch !== undefined &&
      (layout === undefined || epoch > layout.epoch) &&
      !this.#layout.isHome(app)
    ) {
      return "slow";
    }
    if (layout === undefined) return "run";
    const [first = "", ...others] = keys;
    if (ownerOf(app, first, layout) !== name) return new MovedError(app, first, layout);
    for (const other of others) {
      if (ownerOf(app, other, layout) !== name) {
        // Named for the layout in force and the move that waits, if any, so that a client's
        // retry with a key picked for it is not refused again when that move begins.
        const target = this.#layout.targetShards(layout);
        return wrongShard(app, first, other, rotationShards(layout, target));
      }
    }
    if (layout.from === null) return "run";
    return keys.some((key) => this.#mustPull(app, key, layout, name)) ? "slow" : "run";
  }

  /** An owner takes in sessions pushed by a source's drain; answers the keys it holds now. */
  async receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    await this.#layout.catchUp(app, epoch);
    return resultOf(() => {
      const layout = this.#layout.current(app);
      if (layout === undefined) throw new SessionError("unavailable", "No layout yet; retry.");
      try {
        return this.#takeIn(app, layout, sessions);
      } catch (error) {
        if (error instanceof SessionError) throw error;
        // Nothing of them was stored (one transaction): an answer, never an exception over
        // RPC. The source keeps them and hands them off again.
        throw new SessionError(
          "storage_error",
          `The sessions handed off could not be stored (${describeError(error)}); nothing of them was stored. Hand them off again.`,
        );
      }
    });
  }

  #mustPull(app: string, key: string, layout: Layout, name: string): boolean {
    return (
      sourceOf(app, key, layout) !== name &&
      !this.#layout.wasPulled(key) &&
      this.#store.load(key) === undefined
    );
  }

  async #guardSlowly<T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    run: () => Result<T> | Promise<Result<T>>,
  ): Promise<Result<T>> {
    if (epoch !== undefined) await this.#layout.catchUp(app, epoch);
    for (let round = 0; round < 4; round++) {
      const verdict = this.check(app, keys, undefined);
      if (verdict === "run") return run();
      if (verdict instanceof SessionError) return { ok: false, error: errorBody(verdict) };
      await this.#pull(app, keys, this.#layout.current(app) as Layout);
    }
    return {
      ok: false,
      error: errorBody(
        new SessionError("unavailable", "The app's layout is changing; retry the request."),
      ),
    };
  }

  /**
   * Pulls `keys` from their sources; a key already being pulled is waited for, not pulled twice.
   * One hand-off call per source is in flight at a time: keys asked for meanwhile go together in
   * the next call (so a busy owner makes few, larger calls).
   */
  async #pull(app: string, keys: string[], layout: Layout): Promise<void> {
    const name = this.#name as string;
    const waits: Promise<void>[] = [];
    const sources = new Set<string>();
    for (const key of keys) {
      if (!this.#mustPull(app, key, layout, name)) continue;
      const under = this.#pulling.get(key);
      if (under !== undefined) {
        waits.push(under);
        continue;
      }
      const source = sourceOf(app, key, layout) as string;
      let batch = this.#waiting.get(source);
      if (batch === undefined) {
        batch = pullBatch();
        this.#waiting.set(source, batch);
      }
      batch.keys.add(key);
      this.#pulling.set(key, batch.done);
      waits.push(batch.done);
      sources.add(source);
    }
    for (const source of sources) this.#nextPull(app, source, layout);
    await Promise.all(waits);
  }

  /** Starts the waiting batch of `source` unless a call to it is in flight. */
  #nextPull(app: string, source: string, layout: Layout): void {
    if (this.#inFlight.has(source)) return;
    const batch = this.#waiting.get(source);
    if (batch === undefined) {
      this.#confirm(app, source);
      return;
    }
    this.#waiting.delete(source);
    this.#inFlight.add(source);
    this.#pullFrom(app, source, [...batch.keys], layout)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        for (const key of batch.keys) this.#pulling.delete(key);
        this.#inFlight.delete(source);
        this.#nextPull(app, source, this.#layout.current(app) ?? layout);
      });
  }

  async #pullFrom(app: string, source: string, keys: string[], layout: Layout): Promise<void> {
    const name = this.#name as string;
    const confirmed = this.#unconfirmed.get(source) ?? [];
    this.#unconfirmed.delete(source);
    const result = await this.#layout
      .object(source)
      .handOff(app, layout.epoch, keys, name, confirmed);
    if (!result.ok) {
      // The source knows a newer layout: take it, and the caller checks again.
      if (result.error.code === "moved" && result.error.layout !== undefined) {
        this.#layout.adoptOrRefresh(app, parseLayout(result.error.layout));
        return;
      }
      throw errorFromBody(result.error);
    }
    const current = this.#layout.current(app);
    const taken = current === undefined ? [] : this.#takeIn(app, current, result.value);
    if (this.#layout.current(app)?.epoch === layout.epoch) this.#layout.remember(keys);
    if (taken.length === 0) return;
    // The source forgets its copies when told (with the next call, or alone when none follows);
    // if that is lost, its drain sends them again and this object confirms them from its ledger.
    const stored = new Set(taken);
    const pending = this.#unconfirmed.get(source) ?? [];
    for (const { key, sid } of result.value) if (stored.has(key)) pending.push({ key, sid });
    this.#unconfirmed.set(source, pending);
  }

  /** Tells `source` which hand-offs this object stored, when no pull to it follows. */
  #confirm(app: string, source: string): void {
    const confirmed = this.#unconfirmed.get(source);
    if (confirmed === undefined || confirmed.length === 0) return;
    this.#unconfirmed.delete(source);
    this.#waitUntil(
      this.#layout
        .object(source)
        .release(app, confirmed)
        .catch(() => undefined),
    );
  }

  /**
   * Stores sessions handed off to this object, unless its ledger shows it took them in already:
   * a late copy never overwrites a session that changed, ended or began again here. One
   * transaction. Answers the keys this object holds (or held) as handed off.
   */
  #takeIn(app: string, layout: Layout, sessions: StoredSession[]): string[] {
    const name = this.#name;
    const store = this.#store;
    const held: string[] = [];
    store.transaction(() => {
      for (const session of sessions) {
        if (!isStoredSession(session) || ownerOf(app, session.key, layout) !== name) continue;
        if (moveInRows.has(store, session.key, session.sid)) {
          held.push(session.key);
          continue;
        }
        const here = store.load(session.key);
        if (here !== undefined) {
          // Cannot happen under the protocol (a key absent at its source never comes back to
          // it): keep both copies where they are and say so, rather than lose either.
          console.error("session move: a handed-off session meets another at its key; kept both");
          continue;
        }
        store.save(session);
        moveInRows.add(store, session.key, session.sid);
        held.push(session.key);
        this.#movedIn++;
      }
    });
    this.#alarm.arm();
    return held;
  }

  /** `guard`, where a pull that failed answers with an error (never an exception over RPC). */
  answer<T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    run: () => Answer<T>,
  ): Answer<T> {
    const answer = this.guard(app, keys, epoch, run);
    return answer instanceof Promise ? answer.catch(unavailable) : answer;
  }
}

/** Keys to pull from one source in one call, and the promise their callers wait on. */
interface PullBatch {
  keys: Set<string>;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function pullBatch(): PullBatch {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers await it; a rejection nobody awaited any more must not be reported as unhandled.
  done.catch(() => undefined);
  return { keys: new Set(), done, resolve, reject };
}

function isStoredSession(value: unknown): value is StoredSession {
  const s = value as Partial<StoredSession> | null;
  return (
    s !== null &&
    typeof s === "object" &&
    typeof s.key === "string" &&
    typeof s.sid === "string" &&
    typeof s.version === "number" &&
    typeof s.sliceEnd === "number" &&
    typeof s.data === "object" &&
    typeof s.keyVersions === "object"
  );
}

/** An operation whose session could not be pulled here: a typed error, or 503 to retry. */
function unavailable(error: unknown): Result<never> {
  if (error instanceof SessionError) return failure(errorBody(error));
  return failure({
    code: "unavailable",
    status: 503,
    message: `The session is moving between shards and could not be reached (${describeError(error)}). Retry in a moment.`,
  });
}
