import { DurableObject } from "cloudflare:workers";
import { parseChangeset, parseChangesets } from "../src/changeset.js";
import { DEFAULT_SWEEP_BATCH, type SessionEngine } from "../src/engine.js";
import { SessionError, SettingsMismatchError } from "../src/errors.js";
import { type SessionBeginEvent, SessionEndEvent, type SessionEventBody } from "../src/events.js";
import {
  type AppLayout,
  initialLayout,
  type Layout,
  type Placement,
  parseLayout,
} from "../src/layout.js";
import { assertAppName, assertSessionKey, objectName } from "../src/names.js";
import type { SessionObjectNamespace } from "../src/router.js";
import {
  type CommitResult,
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
import { type AppStats, type Result, resultOf, type SessionObjectRpc } from "../src/wire.js";
import { Alarm } from "./alarm.js";
import { SWEEP_BATCHES_PER_ALARM } from "./alarm-policy.js";
import { CommitPath } from "./commit-path.js";
import { HeldApp } from "./held-app.js";
import { Outbox } from "./outbox.js";
import { Resharding } from "./resharding.js";
import { SqlStore } from "./sql-store.js";

type Env = { SESSION_EVENTS?: Queue; SESSION_MANAGER?: DurableObjectNamespace };

/** An answer now, or once a session has moved here or the commit's group is written. */
type Answer<T> = Result<T> | Promise<Result<T>>;

/**
 * One app's session manager (or one shard of it) in a Durable Object. Its SQLite storage holds
 * the sessions, the app's settings and the event outbox (docs/DESIGN.md#storage); its alarm runs
 * the sweep. The operations are those of `SessionObjectRpc` (src/wire.ts), documented there;
 * this class is their RPC surface and the object's lifecycle, over the held app (held-app.ts),
 * the commit path (commit-path.ts), the alarm (alarm.ts) and resharding (resharding.ts).
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
  readonly #app: HeldApp;
  readonly #alarm: Alarm;
  readonly #resharding: Resharding;
  readonly #commits: CommitPath;
  /** The placement the first router asked with, for an app not stored yet. */
  #placement: Placement | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const store = new SqlStore(ctx.storage);
    this.#store = store;
    this.#outbox = new Outbox(
      store,
      env.SESSION_EVENTS === undefined ? undefined : (events) => this.sendEvents(events),
    );
    this.#alarm = new Alarm({
      storage: ctx.storage,
      outbox: this.#outbox,
      nextExpiry: () => this.#app.current?.engine.nextExpiry(),
      reshardDue: () => this.#resharding.due(),
      onEvent: (event) =>
        event instanceof SessionEndEvent ? this.onSessionEnd(event) : this.onSessionBegin(event),
      waitUntil: (promise) => ctx.waitUntil(promise),
    });
    this.#app = new HeldApp({
      store,
      name: ctx.id.name,
      emit: (settings, events) => {
        // Inside the change's transaction: the outbox row commits or rolls back with it.
        this.#outbox.add(events.filter((e) => e.type === "end" || settings.beginEvents));
        this.#alarm.add(events);
      },
      // The home object stores the app's first layout with it (placement from the router that
      // asked first), in the same transaction.
      firstStored: (name, settings) => {
        if (ctx.id.name === objectName(name)) {
          this.#resharding.homeLayout(name, settings, this.#placement ?? {});
        }
      },
    });
    this.#resharding = new Resharding({
      store,
      name: ctx.id.name,
      jurisdiction: ctx.id.jurisdiction,
      app: () => this.#app.current,
      object: (name, placement) => this.#object(name, placement),
      now: () => this.now(),
      waitUntil: (promise) => ctx.waitUntil(promise),
      arm: () => this.#alarm.arm(),
    });
    this.#commits = new CommitPath({
      store,
      app: this.#app,
      resharding: this.#resharding,
      alarm: this.#alarm,
      now: () => this.now(),
      sync: () => ctx.storage.sync(),
      notHere: (app, keys) => this.#notHere(app, keys),
    });
    ctx.blockConcurrencyWhile(() => this.#alarm.start());
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

  usage(): { rowsRead: number; rowsWritten: number } {
    return { ...this.#store.usage };
  }

  ping(): string {
    return "pong";
  }

  open(app: string, settings?: Partial<AppSettings>): Result<AppSettings> {
    this.#commits.flush();
    return resultOf(() => {
      const given = parseAppSettings(settings);
      const current = this.#app.stored(app, given);
      const differs = differingSetting(current.settings, given);
      if (differs !== undefined) {
        throw new SettingsMismatchError(app, differs, current.settings[differs], given[differs]);
      }
      return current.settings;
    });
  }

  /** In the home object, a new shard count starts a move (docs/DESIGN.md#resharding). */
  configure(app: string, settings: Partial<AppSettings>): Result<AppSettings> {
    this.#commits.flush();
    return resultOf(() => {
      const given = parseAppSettings(settings);
      const current = this.#app.stored(app, given);
      const next = resolveAppSettings({ ...current.settings, ...given });
      this.#store.transaction(() => {
        this.#resharding.retarget(app, current.settings, next);
        this.#app.save(app, next);
      });
      this.#alarm.arm();
      return next;
    });
  }

  adopt(app: string, settings: Partial<AppSettings>, layout?: Layout): Result<AppSettings> {
    this.#commits.flush();
    return resultOf(() => {
      const current = this.#app.stored(app, parseAppSettings(settings));
      if (layout !== undefined && this.ctx.id.name !== app) {
        this.#resharding.adopt(parseLayout(layout));
      }
      return current.settings;
    });
  }

  layout(app: string, placement?: Placement): Result<AppLayout> {
    this.#commits.flush();
    return resultOf(() => {
      const current = this.#app.of(app);
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

  async receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    this.#commits.flush();
    const result = await this.#resharding.receive(app, epoch, sessions);
    this.#alarm.arm();
    return result;
  }

  release(app: string, sessions: { key: string; sid: string }[]): Result<number> {
    this.#commits.flush();
    return resultOf(() => {
      assertAppName(app);
      return this.#resharding.release(sessions);
    });
  }

  moveDone(app: string, epoch: number, name: string): Result<Layout> {
    this.#commits.flush();
    return resultOf(() => {
      this.#app.of(app);
      return this.#resharding.moveDone(app, epoch, name);
    });
  }

  get(app: string, key: string, epoch?: number): Answer<SessionView> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return sessionView(stored === undefined ? newSnapshot(key, now) : snapshotOf(stored));
    });
  }

  getView(app: string, key: string, epoch?: number): Answer<string> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      if (stored !== undefined) return sessionViewJson(stored, this.#store.dataJson(stored));
      return sessionViewJson(newSnapshot(key, now), "{}");
    });
  }

  query(app: string, key: string, epoch?: number): Answer<SessionView | null> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : sessionView(snapshotOf(stored));
    });
  }

  queryView(app: string, key: string, epoch?: number): Answer<string | null> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : sessionViewJson(stored, this.#store.dataJson(stored));
    });
  }

  getText(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.getView(app, key, epoch));
  }

  queryText(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.queryView(app, key, epoch));
  }

  has(app: string, key: string, epoch?: number): Answer<boolean> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.access(key, now) !== undefined;
    });
  }

  /** Goes through group commit (docs/DESIGN.md#group-commit), as `commitMany` does. */
  commit(app: string, changes: unknown, epoch?: number): Answer<CommitResult> {
    const checked = resultOf(() => {
      assertAppName(app);
      return [parseChangeset((changes as { key?: unknown } | null)?.key as string, changes)];
    });
    if (!checked.ok) return checked;
    const answers = this.#commits.commit(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((all) => all[0] as Result<CommitResult>)
      : (answers[0] as Result<CommitResult>);
  }

  commitMany(app: string, changes: unknown, epoch?: number): Answer<Result<CommitResult>[]> {
    const checked = resultOf(() => {
      assertAppName(app);
      return parseChangesets(changes);
    });
    if (!checked.ok) return checked;
    const answers = this.#commits.commit(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((value) => ({ ok: true, value }))
      : { ok: true, value: answers };
  }

  invalidate(app: string, key: string, epoch?: number): Answer<boolean> {
    return this.#sessionOp(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.invalidate(key, now);
    });
  }

  /** Both keys must belong to this object under the app's layout, else 409 `wrong_shard`. */
  regenerate(app: string, oldKey: string, newKey: string, epoch?: number): Answer<SessionView> {
    const check = () => {
      assertSessionKey(oldKey);
      assertSessionKey(newKey);
    };
    return this.#sessionOp(app, [oldKey, newKey], epoch, check, (engine, now) => {
      return sessionView(snapshotOf(engine.regenerate(oldKey, newKey, now)));
    });
  }

  stats(app: string): Result<AppStats> {
    this.#commits.flush();
    return resultOf(() => {
      assertAppName(app);
      if (this.#app.current?.stored !== true) {
        throw new SessionError(
          "app_not_found",
          404,
          `App "${app}" does not exist yet: open it (POST /v1/apps/${app}) or store a session in it first.`,
        );
      }
      const current = this.#app.of(app);
      const alarmAt = this.#alarm.at;
      return {
        app: current.name,
        settings: current.settings,
        sessions: this.#store.count(),
        nextSweep: alarmAt === null ? null : alarmAt / 1000,
        pendingEvents: this.#outbox.pending(),
        usage: { ...this.#store.usage },
        ...this.#resharding.stats(app),
      };
    });
  }

  async sweep(app: string): Promise<Result<number>> {
    const result = this.#op(
      app,
      () => {},
      (engine, now) => engine.sweep(now, DEFAULT_SWEEP_BATCH, SWEEP_BATCHES_PER_ALARM),
    );
    await this.#alarm.flushQuietly();
    return result;
  }

  /**
   * The sweep: ends expired sessions in bounded batches (one transaction each), sends the
   * outbox, takes a move one step further, and re-arms. Safe to run twice.
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    this.#commits.flush();
    await this.#alarm.run(info, async () => {
      const engine = this.#app.current?.engine;
      if (engine !== undefined) {
        const now = this.now();
        for (let i = 0; i < SWEEP_BATCHES_PER_ALARM; i++) {
          const ended = engine.sweepBatch(now, DEFAULT_SWEEP_BATCH);
          this.#alarm.runHooks();
          if (ended < DEFAULT_SWEEP_BATCH) break;
          await this.#outbox.flush();
        }
      }
      await this.#alarm.send();
      // Resharding: tell objects a new layout, drain sessions this object no longer owns.
      await this.#resharding.onAlarm();
    });
  }

  /**
   * A session operation on `keys`: arguments checked first; then, if this object owns the keys
   * under the app's layout (after pulling them from their source during a move), `#run`.
   * Otherwise a redirection (`moved`) with the layout.
   */
  #sessionOp<A, T>(
    app: string,
    keys: string[],
    epoch: number | undefined,
    check: () => A,
    fn: (engine: SessionEngine, now: number, checked: A) => T,
  ): Answer<T> {
    const checked = resultOf(() => {
      this.#app.check(app);
      return check();
    });
    if (!checked.ok) return checked;
    // Commits that wait go first: the ownership check sees the layout they leave.
    this.#commits.flush();
    const away = this.#notHere(app, keys);
    if (away !== undefined) return away;
    return this.#resharding.guard(app, keys, epoch, () => this.#run(app, checked.value, fn));
  }

  /**
   * Runs an operation of `app` that needs no owned key (the sweep): arguments checked, then
   * `#run`, after the commits that wait.
   */
  #op<A, T>(
    app: string,
    check: () => A,
    fn: (engine: SessionEngine, now: number, checked: A) => T,
  ): Result<T> {
    this.#commits.flush();
    const checked = resultOf(() => {
      this.#app.check(app);
      return check();
    });
    return checked.ok ? this.#run(app, checked.value, fn) : checked;
  }

  /**
   * Runs `fn` on the app's engine and delivers its events. An app not stored yet is stored with
   * the operation's first write, in its transaction: a read or a refused call writes nothing.
   */
  #run<A, T>(
    app: string,
    checked: A,
    fn: (engine: SessionEngine, now: number, checked: A) => T,
  ): Result<T> {
    const result = resultOf(() => {
      const current = this.#app.of(app);
      return this.#app.storing(current, () => fn(current.engine, this.now(), checked));
    });
    this.#alarm.afterChange();
    return result;
  }

  /** `wrong_shard` for keys this object does not hold, when it knows no layout (HeldApp). */
  #notHere(app: string, keys: string[]): Result<never> | undefined {
    if (this.#resharding.current(app) !== undefined) return undefined;
    return this.#app.notHere(app, keys);
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
}

/** A session that is not stored (yet): what `get` hands out for a key with no live session. */
function newSnapshot(key: string, now: number): SessionSnapshot {
  return { key, sid: null, version: 0, created: now, lastModified: null, data: {} };
}

/** A compact read's answer as one string (`resultText`), once it is there. */
function asText(answer: Answer<string | null>): string | Promise<string> {
  return answer instanceof Promise ? answer.then(resultText) : resultText(answer);
}

/** A check that `key` is a session key, for `#sessionOp`. */
function checkKey(key: string): () => void {
  return () => assertSessionKey(key);
}
