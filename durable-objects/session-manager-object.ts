import { DurableObject } from "cloudflare:workers";
import { type Changeset, parseChangeset, parseChangesets } from "../src/changeset.js";
import { DEFAULT_SWEEP_BATCH, SessionEngine } from "../src/engine.js";
import {
  InvalidInputError,
  SessionError,
  SettingsMismatchError,
  WrongShardError,
} from "../src/errors.js";
import {
  type SessionBeginEvent,
  SessionEndEvent,
  type SessionEvent,
  type SessionEventBody,
} from "../src/events.js";
import {
  type AppLayout,
  initialLayout,
  type Layout,
  type Placement,
  parseLayout,
} from "../src/layout.js";
import { assertAppName, assertSessionKey, objectName, shardOf } from "../src/names.js";
import type { SessionObjectNamespace } from "../src/router.js";
import {
  type CommitResult,
  commitResult,
  resultText,
  type SessionSnapshot,
  type SessionView,
  type StoredSession,
  sessionView,
  sessionViewJson,
  snapshotOf,
} from "../src/session-view.js";
import {
  type AppSettings,
  differingSetting,
  parseAppSettings,
  resolveAppSettings,
} from "../src/settings.js";
import type { AppStats, SessionObjectRpc } from "../src/wire.js";
import { errorBody, type Result, resultOf } from "../src/wire.js";
import { type CommitGroup, GroupCommit } from "./group-commit.js";
import { Outbox } from "./outbox.js";
import { Resharding } from "./resharding.js";
import { appRow } from "./rows.js";
import { SqlStore } from "./sql-store.js";

/** Batches one alarm run works through before it yields and re-arms. */
const SWEEP_BATCHES_PER_ALARM = 40;
/** Retry delays (ms) for the Queue, by attempt; the last one repeats. */
const SEND_RETRY_MS = [1_000, 5_000, 30_000, 120_000, 300_000];
/** How long an alarm that still has due work waits before it runs again. */
const REARM_DELAY_MS = 1_000;
/** After this many failed runs, the alarm catches its error and re-arms itself. */
const ALARM_RETRIES_BEFORE_REARM = 3;

type Env = { SESSION_EVENTS?: Queue; SESSION_MANAGER?: DurableObjectNamespace };

/**
 * The answer to one changeset of a group, or `PULL_FIRST`: this object owns its key but must
 * first learn a newer layout or pull the session from its source (a move began meanwhile), so it
 * is committed again after that, alone.
 */
type GroupAnswer = Result<CommitResult> | typeof PULL_FIRST;
const PULL_FIRST = Symbol("pull first");

/** The app this object holds, once known. */
interface OpenApp {
  name: string;
  settings: AppSettings;
  engine: SessionEngine;
  /**
   * Whether the app's row is stored. An app is stored by `open`, `configure` or `adopt`, or with
   * the first session change that stores something; until then it runs on the defaults in memory,
   * so that reads and refused calls write nothing.
   */
  stored: boolean;
}

/**
 * One app's session manager (or one shard of it) in a Durable Object. Its SQLite storage holds
 * the sessions, the app's settings and the event outbox; its alarm runs the sweep.
 *
 * RPC methods return `Result` values (typed errors do not survive RPC as exceptions); the
 * clients and the worker `unwrap` them. Subclass it to react to sessions in process:
 *
 * @example
 * export class Sessions extends SessionManagerObject {
 *   protected override onSessionEnd(event: SessionEndEvent) {
 *     console.log("ended", event.key, event.reason);
 *   }
 * }
 */
export class SessionManagerObject extends DurableObject<Env> {
  readonly #store: SqlStore;
  readonly #outbox: Outbox;
  readonly #resharding: Resharding;
  readonly #commits: GroupCommit<GroupAnswer>;
  #app: OpenApp | undefined;
  /** The alarm time (ms) as last set or read; `null` when none. */
  #alarmAt: number | null = null;
  #hookEvents: SessionEvent[] = [];
  #sendFailures = 0;
  /** The placement the first router asked with, for an app not stored yet. */
  #placement: Placement | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SqlStore(ctx.storage);
    this.#outbox = new Outbox(
      this.#store,
      env.SESSION_EVENTS === undefined ? undefined : (events) => this.sendEvents(events),
    );
    this.#commits = new GroupCommit({
      apply: (groups) => this.#applyCommits(groups),
      sync: () => ctx.storage.sync(),
    });
    this.#resharding = new Resharding({
      store: this.#store,
      name: ctx.id.name,
      jurisdiction: ctx.id.jurisdiction,
      app: () => this.#app,
      object: (name, placement) => this.#object(name, placement),
      now: () => this.now(),
      waitUntil: (promise) => ctx.waitUntil(promise),
      arm: () => this.#arm(),
    });
    const row = appRow.load(this.#store);
    // Settings stored by an older version lack newer settings: fill in their defaults.
    if (row !== undefined) {
      this.#useApp(row.name, resolveAppSettings(JSON.parse(row.settings)), true);
    }
    ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
      // An alarm lost to a crash, or dropped after its retries ran out, is set again here: work
      // that is due (stored sessions, unsent events) always has an alarm.
      if (this.#alarmAt === null) this.#arm();
    });
  }

  /** The time in seconds since the epoch. Override to inject a clock (tests do). */
  protected now(): number {
    return Date.now() / 1000;
  }

  /** Called after a new session was first stored. Override to react in process. */
  protected onSessionBegin(_event: SessionBeginEvent): void | Promise<void> {}

  /** Called after a stored session ended (expired, invalidated, regenerated). */
  protected onSessionEnd(_event: SessionEndEvent): void | Promise<void> {}

  /**
   * Delivers one batch of events (at most 100, under 256 KB) to the `SESSION_EVENTS` Queue.
   * Override to deliver elsewhere; reject when the batch was not accepted, and it is retried.
   */
  protected async sendEvents(events: SessionEventBody[]): Promise<void> {
    await this.env.SESSION_EVENTS?.sendBatch(events.map((body) => ({ body, contentType: "json" })));
  }

  /**
   * The namespace of this class, through which sessions move to the app's other objects when
   * its shard count changes: the class's own (`ctx.exports`), else the `SESSION_MANAGER`
   * binding. Override it when the class is bound otherwise.
   */
  protected sessionObjects(): SessionObjectNamespace | undefined {
    const exported = (this.ctx.exports as Record<string, unknown> | undefined)?.[
      this.constructor.name
    ] as SessionObjectNamespace | undefined;
    if (typeof exported?.getByName === "function") return exported;
    return this.env.SESSION_MANAGER as SessionObjectNamespace | undefined;
  }

  /** Rows read and written by this object's statements since it started. Reads nothing. */
  usage(): { rowsRead: number; rowsWritten: number } {
    return { ...this.#store.usage };
  }

  /** An empty RPC method: the baseline for what a call costs. */
  ping(): string {
    return "pong";
  }

  /**
   * Opens `app`: stores `settings` (defaults filled in) on first use; later, refuses settings
   * that differ from the stored ones, naming the setting.
   */
  open(app: string, settings?: Partial<AppSettings>): Result<AppSettings> {
    this.#commits.flush();
    return resultOf(() => {
      const given = parseAppSettings(settings);
      const current = this.#storeApp(app, given);
      const differs = differingSetting(current.settings, given);
      if (differs !== undefined) {
        throw new SettingsMismatchError(app, differs, current.settings[differs], given[differs]);
      }
      return current.settings;
    });
  }

  /**
   * Creates `app` or changes its settings on purpose. Stored sessions keep the end of the
   * timeslice of their last access, so none ends sooner than the new `timeout` after it. A new
   * shard count starts a move of the sessions in the home object's layout (docs/DESIGN.md#resharding);
   * during a move, the next one goes to the latest count.
   */
  configure(app: string, settings: Partial<AppSettings>): Result<AppSettings> {
    this.#commits.flush();
    return resultOf(() => {
      const given = parseAppSettings(settings);
      const current = this.#storeApp(app, given);
      const next = resolveAppSettings({ ...current.settings, ...given });
      this.#store.transaction(() => {
        this.#resharding.retarget(app, current.settings, next);
        this.#saveApp(app, next);
      });
      this.#arm();
      return next;
    });
  }

  /**
   * For a shard of an app: takes the app's settings (as its home object stores them) on first
   * use, and returns the settings it holds. Never compares: the home object is the reference.
   * Takes `layout` too when it is newer than the one it knows.
   */
  adopt(app: string, settings: Partial<AppSettings>, layout?: Layout): Result<AppSettings> {
    this.#commits.flush();
    return resultOf(() => {
      const current = this.#storeApp(app, parseAppSettings(settings));
      if (layout !== undefined && this.ctx.id.name !== app) {
        this.#resharding.adopt(parseLayout(layout));
      }
      return current.settings;
    });
  }

  /**
   * The home object's answer to a router: the app's settings and layout. Creates the app with
   * the defaults on first use, and stores `placement.locationHint` with its first layout.
   */
  layout(app: string, placement?: Placement): Result<AppLayout> {
    this.#commits.flush();
    return resultOf(() => {
      const current = this.#appFor(app);
      if (!current.stored) {
        // Never stored: the layout it would start with, and nothing written (a read, or a call
        // refused later, must write nothing). The hint is kept for when the app is stored.
        this.#placement = placement;
        return {
          settings: current.settings,
          layout: initialLayout(current.settings.shards, {
            jurisdiction: this.ctx.id.jurisdiction,
            locationHint: placement?.locationHint,
          }),
          stored: false,
        };
      }
      return {
        settings: current.settings,
        layout: this.#resharding.homeLayout(app, current.settings, placement),
      };
    });
  }

  /**
   * Resharding: a source hands off the sessions of `keys` it holds to their owner `to`, after
   * forgetting the earlier hand-offs the owner `confirmed`.
   */
  handOff(
    app: string,
    epoch: number,
    keys: string[],
    to: string,
    confirmed?: { key: string; sid: string }[],
  ): Promise<Result<StoredSession[]>> {
    this.#commits.flush();
    return this.#resharding.handOff(app, epoch, keys, to, confirmed);
  }

  /** Resharding: an owner takes in sessions handed off to it; the keys it holds now. */
  async receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    this.#commits.flush();
    const result = await this.#resharding.receive(app, epoch, sessions);
    this.#arm();
    return result;
  }

  /** Resharding: a source forgets handed-off sessions their owner confirmed. */
  release(app: string, sessions: { key: string; sid: string }[]): Result<number> {
    this.#commits.flush();
    return resultOf(() => {
      assertAppName(app);
      return this.#resharding.release(sessions);
    });
  }

  /** Resharding, in the home object: source `name` is drained; the last one ends the move. */
  moveDone(app: string, epoch: number, name: string): Result<Layout> {
    this.#commits.flush();
    return resultOf(() => {
      this.#appFor(app);
      return this.#resharding.moveDone(app, epoch, name);
    });
  }

  /** The live session (touched), or a new, empty one that is not stored until committed. */
  get(
    app: string,
    key: string,
    epoch?: number,
  ): Result<SessionView> | Promise<Result<SessionView>> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      if (stored !== undefined) return sessionView(snapshotOf(stored));
      return sessionView(newSnapshot(key, now));
    });
  }

  /**
   * `get`, answered compactly: the `SessionView` as JSON text, its data passed on as stored
   * (neither parsed nor stringified again, and one string to carry back).
   */
  getView(app: string, key: string, epoch?: number): Result<string> | Promise<Result<string>> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      if (stored !== undefined) return this.#viewJson(stored);
      return sessionViewJson(newSnapshot(key, now), "{}");
    });
  }

  /** The live session (touched), or `null`. Never creates. */
  query(
    app: string,
    key: string,
    epoch?: number,
  ): Result<SessionView | null> | Promise<Result<SessionView | null>> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : sessionView(snapshotOf(stored));
    });
  }

  /** `query`, answered compactly (see `getView`): JSON text, or `null`. */
  queryView(
    app: string,
    key: string,
    epoch?: number,
  ): Result<string | null> | Promise<Result<string | null>> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : this.#viewJson(stored);
    });
  }

  /** `getView` as one string: the `Result` as JSON text, the view's text inside it as stored. */
  getText(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.getView(app, key, epoch));
  }

  /** `queryView` as one string (see `getText`). */
  queryText(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.queryView(app, key, epoch));
  }

  /** Whether a live session exists (touching it). Never creates. */
  has(app: string, key: string, epoch?: number): Result<boolean> | Promise<Result<boolean>> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.access(key, now) !== undefined;
    });
  }

  /**
   * Applies a changeset `{ key, sid, version, set?, delete?, clear?, invalidate?, lastModified? }`
   * atomically (docs/DESIGN.md#commit-and-merge). Returns the stored session after it, or
   * `{ key, stored: false, valid }` when none is stored (the same `CommitResult` as the HTTP API's
   * `PATCH`). With `newKey`, the new key must belong to this object too (409 `wrong_shard`).
   *
   * Group commit (docs/DESIGN.md#group-commit): a commit that arrives while an earlier write is in
   * flight waits for it, and then all that waited are applied in one storage transaction, each
   * in its own savepoint (a conflict in one does not touch the others). Every answer leaves only
   * once its write is durable (the object's output gate holds it until then).
   */
  commit(
    app: string,
    changes: unknown,
    epoch?: number,
  ): Result<CommitResult> | Promise<Result<CommitResult>> {
    const checked = resultOf(() => {
      assertAppName(app);
      return [parseChangeset((changes as { key?: unknown } | null)?.key as string, changes)];
    });
    if (!checked.ok) return checked;
    const answers = this.#commitChanges(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((all) => all[0] as Result<CommitResult>)
      : (answers[0] as Result<CommitResult>);
  }

  /**
   * Commits several changesets (each with its `key`) in one call and one storage transaction:
   * each atomic on its own, one `CommitResult` each, in order (see `commit`). A malformed list
   * is refused whole (400 `invalid_changeset`) before anything is written.
   */
  commitMany(
    app: string,
    changes: unknown,
    epoch?: number,
  ): Result<Result<CommitResult>[]> | Promise<Result<Result<CommitResult>[]>> {
    const checked = resultOf(() => {
      assertAppName(app);
      return parseChangesets(changes);
    });
    if (!checked.ok) return checked;
    const answers = this.#commitChanges(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((value) => ({ ok: true, value }))
      : { ok: true, value: answers };
  }

  /** Ends the live session for `key` (reason `invalidated`); returns whether there was one. */
  invalidate(app: string, key: string, epoch?: number): Result<boolean> | Promise<Result<boolean>> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.invalidate(key, now);
    });
  }

  /**
   * Moves the live session at `oldKey` to `newKey`; the old one ends (`regenerated`). Both keys
   * must belong to this object under the app's layout, else 409 `wrong_shard` (with the shard
   * count in force): a session moved elsewhere would be where no router looks for it.
   */
  regenerate(
    app: string,
    oldKey: string,
    newKey: string,
    epoch?: number,
  ): Result<SessionView> | Promise<Result<SessionView>> {
    const check = () => {
      assertSessionKey(oldKey);
      assertSessionKey(newKey);
    };
    return this.#sessionOp(app, [oldKey, newKey], epoch, check, (engine, now) => {
      return sessionView(snapshotOf(engine.regenerate(oldKey, newKey, now)));
    });
  }

  /** The app's settings, stored sessions, next sweep and storage usage. Never creates the app. */
  stats(app: string): Result<AppStats> {
    this.#commits.flush();
    return resultOf(() => {
      assertAppName(app);
      if (this.#app?.stored !== true) {
        throw new SessionError(
          "app_not_found",
          404,
          `App "${app}" does not exist yet: open it (POST /v1/apps/${app}) or store a session in it first.`,
        );
      }
      const current = this.#appFor(app);
      return {
        app: current.name,
        settings: current.settings,
        sessions: this.#store.count(),
        nextSweep: this.#alarmAt === null ? null : this.#alarmAt / 1000,
        pendingEvents: this.#outbox.pending(),
        usage: { ...this.#store.usage },
        ...this.#resharding.stats(app),
      };
    });
  }

  /** Ends expired sessions now, as one alarm run does (bounded); returns how many. */
  async sweep(app: string): Promise<Result<number>> {
    const result = this.#op(
      app,
      () => {},
      (engine, now) => engine.sweep(now, DEFAULT_SWEEP_BATCH, SWEEP_BATCHES_PER_ALARM),
    );
    await this.#flushQuietly();
    return result;
  }

  /**
   * The sweep: ends expired sessions in bounded batches (one transaction each), sends the
   * outbox, and re-arms for the next moment a session can expire. Safe to run twice.
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    this.#commits.flush();
    this.#alarmAt = null;
    try {
      const app = this.#app;
      if (app !== undefined) {
        const now = this.now();
        for (let i = 0; i < SWEEP_BATCHES_PER_ALARM; i++) {
          const ended = app.engine.sweepBatch(now, DEFAULT_SWEEP_BATCH);
          this.#runHooks();
          if (ended < DEFAULT_SWEEP_BATCH) break;
          await this.#outbox.flush();
        }
      }
      await this.#outbox.flush();
      this.#sendFailures = 0;
      // Resharding: tell objects a new layout, drain sessions this object no longer owns.
      await this.#resharding.onAlarm();
    } catch (error) {
      // Let the runtime retry a few times; then stop throwing and re-arm ourselves, since an
      // alarm that exhausted its retries is never run again.
      if ((info?.retryCount ?? 0) < ALARM_RETRIES_BEFORE_REARM) throw error;
      console.error("session sweep failed; re-arming", errorName(error));
      this.#sendFailures++;
    }
    this.#arm(true);
  }

  /**
   * A session operation on `keys`: arguments checked first; then, if this object owns the keys
   * under the app's layout (after pulling them from their source during a move), `#op`.
   * Otherwise a redirection (`moved`) with the layout.
   */
  #sessionOp<A, T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    check: () => A,
    fn: (engine: SessionEngine, now: number, checked: A) => T,
  ): Result<T> | Promise<Result<T>> {
    const checked = resultOf(() => {
      this.#checkApp(app);
      return check();
    });
    if (!checked.ok) return checked;
    // Commits that wait go first: the ownership check sees the layout they leave.
    this.#commits.flush();
    const away = this.#notHere(app, keys);
    if (away !== undefined) return away;
    return this.#resharding.guard(app, keys, epoch, () => this.#run(app, checked.value, fn));
  }

  /** The app's object `name`, in this object's namespace and jurisdiction. */
  #object(name: string, placement: Placement): SessionObjectRpc {
    let namespace = this.sessionObjects();
    if (namespace === undefined) {
      throw new SessionError(
        "reshard_unavailable",
        503,
        "This Durable Object cannot reach the app's other objects: bind its namespace as SESSION_MANAGER or override sessionObjects().",
      );
    }
    if (placement.jurisdiction !== undefined && namespace.jurisdiction !== undefined) {
      namespace = namespace.jurisdiction(placement.jurisdiction);
    }
    const options =
      placement.locationHint === undefined ? undefined : { locationHint: placement.locationHint };
    return namespace.getByName(name, options) as SessionObjectRpc;
  }

  /**
   * Runs a session operation of `app`: arguments checked, timed, its events delivered. An app
   * not stored yet is stored with the operation's first write, in its transaction: a read or a
   * refused call (bad input, conflict, too large) writes nothing at all.
   */
  #op<A, T>(
    app: string,
    check: () => A,
    fn: (engine: SessionEngine, now: number, checked: A) => T,
  ): Result<T> {
    // Commits waiting for a write in flight go first: every call sees the ones before it.
    this.#commits.flush();
    const checked = resultOf(() => {
      this.#checkApp(app);
      return check();
    });
    return checked.ok ? this.#run(app, checked.value, fn) : checked;
  }

  /** Refuses a bad app name; the name of the app held here was checked when it came. */
  #checkApp(app: string): void {
    if (this.#app?.name !== app) assertAppName(app);
  }

  /** `#op` once its arguments are checked. */
  #run<A, T>(
    app: string,
    checked: A,
    fn: (engine: SessionEngine, now: number, checked: A) => T,
  ): Result<T> {
    const result = resultOf(() => {
      const current = this.#appFor(app);
      return this.#storingApp(current, () => fn(current.engine, this.now(), checked));
    });
    this.#afterChange();
    return result;
  }

  /** Hands the events of the last change to the hooks, re-arms, and sends them in the background. */
  #afterChange(): void {
    if (this.#hookEvents.length > 0) {
      this.#runHooks();
      this.#arm();
      this.ctx.waitUntil(this.#flushQuietly());
    }
  }

  /**
   * Runs `fn` for `current`. An app not stored yet is stored in the same transaction once `fn`
   * changed a session: a read or a refused call (bad input, conflict, too large) writes nothing.
   */
  #storingApp<T>(current: OpenApp, fn: () => T): T {
    if (current.stored) return fn();
    return this.#store.transaction(() => {
      const writes = this.#store.writes;
      const value = fn();
      if (this.#store.writes > writes) this.#saveApp(current.name, current.settings);
      return value;
    });
  }

  /**
   * Commits checked changesets through group commit; one answer each, in order. Those that had
   * to wait for a newer layout or a session's pull are committed again alone once it is here.
   */
  #commitChanges(
    app: string,
    changes: Changeset[],
    epoch: number | undefined,
  ): Result<CommitResult>[] | Promise<Result<CommitResult>[]> {
    const answers = this.#commits.submit({ app, changes, epoch });
    if (answers instanceof Promise) {
      return answers.then((all) => this.#afterPulls(app, changes, epoch, all));
    }
    return this.#afterPulls(app, changes, epoch, answers);
  }

  /** The answers of a group, with those marked `PULL_FIRST` committed again after the pull. */
  #afterPulls(
    app: string,
    changes: Changeset[],
    epoch: number | undefined,
    answers: GroupAnswer[],
  ): Result<CommitResult>[] | Promise<Result<CommitResult>[]> {
    if (!answers.includes(PULL_FIRST)) return answers as Result<CommitResult>[];
    return Promise.all(
      answers.map((answer, i) => {
        if (answer !== PULL_FIRST) return answer;
        const change = changes[i] as Changeset;
        return this.#resharding.guard(app, keysOf(change), epoch, () => {
          const again = this.#commitChanges(app, [change], undefined);
          return again instanceof Promise
            ? again.then((all) => all[0] as Result<CommitResult>)
            : (again[0] as Result<CommitResult>);
        });
      }),
    );
  }

  /**
   * Applies groups of changesets in one storage transaction (`SqlStore.batch`: a session changed
   * twice is written once), each changeset in a savepoint of its own, with the same rules as a
   * lone commit: this object must own its key (and `newKey`) under the app's layout, a commit
   * that changes nothing writes nothing, and an app not stored yet is stored in the savepoint of
   * the first commit that stores something. A refused one (conflict, too large, moved, wrong
   * shard, key taken) or one whose write failed (500 `storage_error`) rolls back alone, its move
   * (`newKey`) with it, and answers its error.
   */
  #applyCommits(groups: CommitGroup[]): (GroupAnswer[] | Error)[] {
    const now = this.now();
    const events = this.#hookEvents.length;
    const before = this.#app;
    const apply = () =>
      groups.map(({ app, changes, epoch }) => {
        try {
          const known = resultOf(() => this.#appFor(app));
          if (!known.ok) return changes.map(() => known);
          return changes.map((change) => this.#applyCommit(app, change, epoch, now));
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      });
    try {
      return this.#store.batch(apply);
    } catch (error) {
      // Nothing of the batch was kept: neither its events nor an app first stored in it.
      this.#hookEvents.length = events;
      if (before?.stored !== true && this.#app?.stored === true) this.#app = undefined;
      throw error;
    } finally {
      this.#afterChange();
    }
  }

  /** One changeset of a group, in a savepoint of its own (see `#applyCommits`). */
  #applyCommit(
    app: string,
    change: Changeset,
    epoch: number | undefined,
    now: number,
  ): GroupAnswer {
    // Owned here, checked now: a layout may have changed while the commit waited.
    const owned = this.#owns(app, keysOf(change), epoch);
    if (owned !== true) return owned;
    const events = this.#hookEvents.length;
    let result: Result<CommitResult>;
    try {
      result = resultOf(() => {
        const current = this.#appFor(app);
        // The engine's commit is a savepoint (with its move, for a newKey); `#storingApp` adds
        // one around it and the app's row for an app not stored yet.
        const stored = this.#storingApp(current, () => current.engine.commit(change, now));
        return commitResult(change.key, stored && snapshotOf(stored), change.invalidate === true);
      });
    } catch (error) {
      // Its savepoint rolled back: this one failed alone, the others go on.
      result = storageFailure(change.key, error);
    }
    // A refused commit's events were rolled back with it.
    if (!result.ok) this.#hookEvents.length = events;
    return result;
  }

  /**
   * Whether this object owns `keys` now: `true`; an error answer (`moved`, `wrong_shard`); or
   * `PULL_FIRST` when it must learn a newer layout or pull a session first.
   */
  #owns(
    app: string,
    keys: string[],
    epoch: number | undefined,
  ): true | Result<never> | typeof PULL_FIRST {
    const away = this.#notHere(app, keys);
    if (away !== undefined) return away;
    const verdict = this.#resharding.verdict(app, keys, epoch);
    if (verdict === "run") return true;
    if (verdict === "slow") return PULL_FIRST;
    return { ok: false, error: errorBody(verdict) };
  }

  /**
   * With no layout known here (a shard reached directly, never introduced by a router), the
   * object's name and the app's shard count say which keys it holds: `wrong_shard` for one it
   * does not. `undefined` when the keys may be here.
   */
  #notHere(app: string, keys: string[]): Result<never> | undefined {
    if (this.#resharding.current(app) !== undefined) return undefined;
    const [key, newKey] = keys as [string, string | undefined];
    const here = resultOf(() => {
      this.#assertHere(app, key);
      if (newKey !== undefined) this.#assertHere(app, newKey, key);
    });
    return here.ok ? undefined : here;
  }

  /** A stored session's view as JSON text, its data as stored. */
  #viewJson(stored: StoredSession): string {
    return sessionViewJson(stored, this.#store.dataJson(stored));
  }

  /**
   * The app this object holds; an app never stored runs on the defaults, in memory only (and,
   * holding nothing, gives way to whichever app the next call names).
   */
  #appFor(app: string): OpenApp {
    // The app held here was checked when it was first named.
    if (this.#app?.name === app) return this.#app;
    assertAppName(app);
    if (this.#app === undefined || (!this.#app.stored && this.#app.name !== app)) {
      this.#useApp(app, resolveAppSettings(), false);
    } else if (this.#app.name !== app) {
      throw new InvalidInputError(
        `This object holds app "${this.#app.name}", not "${app}": derive object names with objectName().`,
        "wrong_app",
      );
    }
    return this.#app as OpenApp;
  }

  /** The app, stored now (with `settings`, defaults filled in) if it was not yet. */
  #storeApp(app: string, settings: Partial<AppSettings>): OpenApp {
    const current = this.#appFor(app);
    if (current.stored) return current;
    this.#saveApp(app, resolveAppSettings(settings));
    return this.#app as OpenApp;
  }

  #saveApp(name: string, settings: AppSettings): void {
    const first = this.#app?.stored !== true;
    appRow.save(this.#store, name, JSON.stringify(settings));
    this.#useApp(name, settings, true);
    // The home object stores the app's first layout with it (placement from the router that
    // asked first), in the same transaction.
    if (first && this.ctx.id.name === objectName(name)) {
      this.#resharding.homeLayout(name, settings, this.#placement ?? {});
    }
  }

  /**
   * Refuses `key` when it does not live on this object: an app's keys spread over its shards by
   * `shardOf`, so a session stored elsewhere is one no router would find. The object knows its
   * shard by its name (`app`, or `app#i` for shard i, as `objectName` gives them); one reached
   * without such a name checks only against `near`, a key known to live here (if given).
   */
  #assertHere(app: string, key: string, near?: string): void {
    const { shards } = this.#appFor(app).settings;
    const name = this.ctx.id.name;
    const here =
      shardOfName(name, app, shards) ?? (near === undefined ? undefined : shardOf(near, shards));
    const target = shardOf(key, shards);
    if (here === undefined || here === target) return;
    throw new WrongShardError(
      app,
      key,
      `Key "${key}" of app "${app}" lives on shard ${target} of ${shards}, not in this object (${name === undefined ? "unnamed" : `"${name}"`}). Reach it through objectName(app, key, shards); to regenerate, pick the new key with shardOf(newKey, shards) === shardOf(oldKey, shards).`,
    );
  }

  #useApp(name: string, settings: AppSettings, stored: boolean): void {
    const engine = new SessionEngine({
      app: name,
      settings,
      store: this.#store,
      emit: (events) => {
        // Inside the change's transaction: the outbox row commits or rolls back with it.
        this.#outbox.add(events.filter((e) => e.type === "end" || settings.beginEvents));
        this.#hookEvents.push(...events);
      },
    });
    this.#app = { name, settings, engine, stored };
  }

  /** Hands the events of the last change to the in-process hooks; a hook's error is logged. */
  #runHooks(): void {
    const events = this.#hookEvents;
    this.#hookEvents = [];
    for (const event of events) {
      try {
        const done =
          event instanceof SessionEndEvent ? this.onSessionEnd(event) : this.onSessionBegin(event);
        if (done instanceof Promise) this.ctx.waitUntil(done.catch((e) => logHookError(e)));
      } catch (error) {
        logHookError(error);
      }
    }
  }

  async #flushQuietly(): Promise<void> {
    try {
      await this.#outbox.flush();
      this.#sendFailures = 0;
    } catch (error) {
      this.#sendFailures++;
      console.error("session events not sent yet; will retry", errorName(error));
    }
    // Sent: with nothing stored and nothing waiting, the alarm goes (an idle object holds none).
    // Not sent: the alarm retries.
    this.#arm();
  }

  /**
   * Keeps the alarm at the next moment work can be due: a session can expire, or unsent events
   * wait. Only moves it earlier (a late-firing alarm finds nothing and re-arms), so reads never
   * write it; with nothing stored and nothing waiting it is deleted.
   */
  #arm(inAlarm = false): void {
    const app = this.#app;
    const expiry = app?.engine.nextExpiry();
    let due = expiry === undefined ? Number.POSITIVE_INFINITY : expiry * 1000;
    if (this.#outbox.hasPending()) {
      const delay = SEND_RETRY_MS[Math.min(this.#sendFailures, SEND_RETRY_MS.length - 1)] ?? 1000;
      due = Math.min(due, Date.now() + delay);
    }
    // An alarm that re-arms for work already due waits a moment rather than firing at once;
    // a move that made progress goes on at once (it paces itself when it fails).
    if (inAlarm && due !== Number.POSITIVE_INFINITY)
      due = Math.max(due, Date.now() + REARM_DELAY_MS);
    due = Math.min(due, this.#resharding.due());
    if (due === Number.POSITIVE_INFINITY) {
      if (this.#alarmAt !== null) {
        this.#alarmAt = null;
        void this.ctx.storage.deleteAlarm();
      }
      return;
    }
    if (this.#alarmAt === null || due < this.#alarmAt) {
      this.#alarmAt = due;
      void this.ctx.storage.setAlarm(due);
    }
  }
}

/**
 * The shard an object named `name` holds of `app` (`objectName` gives the names): 0 for `app`
 * itself with one shard, `i` for `app#i`, -1 for the home object of a sharded app (it holds the
 * settings, no session); `undefined` when the name is not one of these.
 */
function shardOfName(name: string | undefined, app: string, shards: number): number | undefined {
  if (name === app) return shards <= 1 ? 0 : -1;
  if (name === undefined || !name.startsWith(`${app}#`)) return undefined;
  const index = Number(name.slice(app.length + 1));
  return Number.isInteger(index) && index >= 0 ? index : undefined;
}

/** A session that is not stored (yet): what `get` hands out for a key with no live session. */
function newSnapshot(key: string, now: number): SessionSnapshot {
  return { key, sid: null, version: 0, created: now, lastModified: null, data: {} };
}

/** A compact read's answer as one string (`resultText`), once it is there. */
function asText(
  answer: Result<string | null> | Promise<Result<string | null>>,
): string | Promise<string> {
  return answer instanceof Promise ? answer.then(resultText) : resultText(answer);
}

/** The keys a changeset needs on this object: its key, and its `newKey` when it moves. */
function keysOf(change: Changeset): string[] {
  return change.newKey === undefined ? [change.key] : [change.key, change.newKey];
}

/** The answer of a commit whose write failed (its savepoint rolled back): 500, try again. */
function storageFailure(key: string, error: unknown): Result<never> {
  return {
    ok: false,
    error: {
      code: "storage_error",
      status: 500,
      key,
      message: `The commit of session "${key}" could not be written (${errorName(error)}); nothing of it was stored. Read the session again and retry.`,
    },
  };
}

/** A check that `key` is a session key, for `#op`. */
function checkKey(key: string): () => void {
  return () => assertSessionKey(key);
}

function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function logHookError(error: unknown): void {
  console.error("session event hook failed", errorName(error));
}
