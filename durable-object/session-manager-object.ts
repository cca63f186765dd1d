import { DurableObject } from "cloudflare:workers";
import { parseChangeset, parseChangesets } from "../src/core/changeset.js";
import { DEFAULT_SWEEP_BATCH } from "../src/core/engine.js";
import { appNotFound, InvalidInputError, SettingsMismatchError } from "../src/core/errors.js";
import {
  type SessionBeginEvent,
  SessionEndEvent,
  type SessionEventBody,
} from "../src/core/events.js";
import { assertAppName, assertSessionKey } from "../src/core/names.js";
import {
  type CommitResult,
  type SessionView,
  type StoredSession,
  sessionView,
  sessionViewJson,
  snapshotOf,
  unstoredSnapshot,
} from "../src/core/session-view.js";
import {
  type AppSettings,
  differingSetting,
  parseAppSettings,
  resolveAppSettings,
} from "../src/core/settings.js";
import {
  parseBinding,
  parseContent,
  parseEndSelection,
  parseSignInChanges,
  parseUserRef,
  type UserSession,
} from "../src/core/users.js";
import { type AppLayout, type Layout, type Placement, parseLayout } from "../src/routing/layout.js";
import type { HandOffArgs, ObjectMetricsAnswer } from "../src/routing/object-rpc.js";
import type { SessionObjectNamespace } from "../src/routing/router.js";
import {
  type Answer,
  type AppDeletion,
  type AppStats,
  type Result,
  resultOf,
  resultText,
} from "../src/routing/wire.js";
import { Alarm } from "./alarm/alarm.js";
import { SWEEP_BATCHES_PER_ALARM } from "./alarm/alarm-policy.js";
import { CommitPath } from "./commit-path.js";
import { Deletion } from "./deletion/deletion.js";
import { DeletionRecord } from "./deletion/deletion-record.js";
import { ChangeEvents } from "./events/change-events.js";
import { Outbox } from "./events/outbox.js";
import { HeldApp, type OpenApp } from "./held-app.js";
import { ObjectMetrics } from "./metrics/object-metrics.js";
import { StoredLayout } from "./resharding/layout-record.js";
import { MoveOwner } from "./resharding/move-owner.js";
import { Resharding } from "./resharding/resharding.js";
import { SessionOps } from "./session-ops.js";
import { SqlStore } from "./storage/sql-store.js";

type Env = { SESSION_EVENTS?: Queue; SESSION_MANAGER?: DurableObjectNamespace };

/**
 * One app's session manager (or one shard of it) in a Durable Object. Its SQLite storage holds
 * the sessions, the app's settings and the event outbox (docs/DESIGN.md#storage); its alarm runs
 * the sweep. The operations are those of `SessionObjectRpc` (src/routing/object-rpc.ts), documented there;
 * this class is their RPC surface, the object's lifecycle, and the owner of its parts (built in
 * the constructor, each from the parts built before it).
 *
 * RPC methods return `Result` values (typed errors do not survive RPC as exceptions); the
 * clients and the worker `unwrap` them. Subclass it to react to sessions in process:
 *
 * @example
 * export class Sessions extends SessionManagerObject {
 *   protected override onSessionEnd(event: SessionEndEvent) {
 *     console.log("session ended", event.app, event.reason); // never the key: it is a credential
 *   }
 * }
 */
export class SessionManagerObject extends DurableObject<Env> {
  /** The sessions table and the statements on every table (sql-store.ts, rows.ts). */
  #store!: SqlStore;
  /** Events waiting for the Queue (outbox.ts). */
  #outbox!: Outbox;
  /** The events of each change: outbox rows in its transaction, then the hooks (change-events.ts). */
  #events!: ChangeEvents;
  /** This object's layout record and the state of a move (layout-record.ts). */
  #layout!: StoredLayout;
  /** The app held, its settings and rules engine (held-app.ts). */
  #app!: HeldApp;
  /** The alarm: when work is due, the sends it retries, one run (alarm.ts). */
  #alarm!: Alarm;
  /** Resharding: the layout as known here, the home object's part, the source side (resharding.ts). */
  #resharding!: Resharding;
  /** Resharding, the owner side: ownership of keys, pulls, sessions taken in (move-owner.ts). */
  #owner!: MoveOwner;
  /** How a session operation runs (session-ops.ts). */
  #ops!: SessionOps;
  /** How commits run: group commit (commit-path.ts, group-commit.ts). */
  #commits!: CommitPath;
  /** The figures: counts kept as things happen, gauges read when asked (object-metrics.ts). */
  #metrics!: ObjectMetrics;
  /** Whether the app is being deleted, and what the home object waits for (deletion-record.ts). */
  #deleting!: DeletionRecord;
  /** Deleting the app: its sessions ended, its events sent, its storage freed (deletion.ts). */
  #deletion!: Deletion;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#build();
    ctx.blockConcurrencyWhile(() => this.#alarm.start());
  }

  /**
   * Builds the object's parts from its storage: when it starts, and again once deleting its app
   * freed the storage (`deleteAll`), before the next call (docs/DESIGN.md#deleting-an-app).
   */
  #build(): void {
    const { ctx, env } = this;
    // The object's own hooks, which a subclass may override: asked when used, not here.
    const now = () => this.now();
    const waitUntil = (promise: Promise<unknown>) => ctx.waitUntil(promise);
    const name = ctx.id.name;
    // Each part is given the parts it needs, built before it. The layout record comes before the
    // held app and the alarm, which read it; resharding, which needs both, comes after them.
    this.#store = new SqlStore(ctx.storage);
    this.#metrics = new ObjectMetrics(this.#store, this.keepsFigures());
    this.#outbox = new Outbox(
      this.#store,
      env.SESSION_EVENTS === undefined ? undefined : (events) => this.sendEvents(events),
    );
    this.#events = new ChangeEvents(
      this.#outbox,
      this.#store,
      (event) => {
        this.#metrics.countEvent(event, now());
        return event instanceof SessionEndEvent
          ? this.onSessionEnd(event)
          : this.onSessionBegin(event);
      },
      waitUntil,
    );
    this.#layout = new StoredLayout(this.#store, name, ctx.id.jurisdiction);
    this.#deleting = new DeletionRecord(ctx.storage.kv);
    this.#app = new HeldApp(this.#store, name, this.#events, this.#layout, this.#deleting);
    this.#alarm = new Alarm(
      ctx.storage,
      this.#outbox,
      this.#app,
      this.#layout,
      this.#deleting,
      this.#metrics,
      now,
      waitUntil,
    );
    // Counts made after a save: the alarm keeps a moment to save them.
    this.#metrics.whenUnsaved(() => this.#alarm.armForCounts());
    this.#resharding = new Resharding(
      this.#layout,
      this.#store,
      this.#app,
      this.#alarm,
      () => this.sessionObjects(),
      waitUntil,
    );
    this.#owner = new MoveOwner(this.#resharding, name, this.#store, this.#alarm, waitUntil);
    this.#ops = new SessionOps(
      this.#app,
      this.#events,
      this.#alarm,
      this.#resharding,
      this.#owner,
      now,
      this.#metrics,
    );
    this.#commits = new CommitPath(
      this.#store,
      ctx.storage,
      this.#app,
      this.#events,
      this.#alarm,
      this.#resharding,
      this.#owner,
      now,
      this.#metrics,
    );
    this.#deletion = new Deletion(
      this.#deleting,
      this.#store,
      this.#outbox,
      this.#events,
      this.#app,
      this.#resharding,
      this.#layout,
      this.#alarm,
      ctx.storage,
      now,
    );
  }

  /** The time in seconds since the epoch. Override to inject a clock (tests do). */
  protected now(): number {
    return Date.now() / 1000;
  }

  /**
   * Whether this object counts its figures (docs/DESIGN.md#metrics): sessions created and ended,
   * commits, conflicts and refusals. Override to answer `false` and count nothing (the gauges,
   * read from storage, are still answered). Asked once, when the object starts.
   */
  protected keepsFigures(): boolean {
    return true;
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

  /**
   * Where every call enters, but `commit` and `commitMany` (which join group commit) and the two
   * that touch no storage (`usage`, `ping`): the commits that wait are applied first, so that the
   * call sees them (docs/DESIGN.md#group-commit).
   */
  #enter(): void {
    this.#awake();
    this.#commits.flush();
  }

  /** After the app was deleted, the object starts afresh: new parts, an empty schema. */
  #awake(): void {
    if (this.#deleting.wiped) this.#build();
  }

  /** A sign-in stores its changes as one commit: counted once it is stored (docs/DESIGN.md#metrics). */
  #signedIn<T>(answer: Answer<T>): Answer<T> {
    const count = (result: Result<T>) => {
      if (result.ok) this.#metrics.countCommits(1, this.now());
      return result;
    };
    return answer instanceof Promise ? answer.then(count) : count(answer);
  }

  /** Counts a call refused before it reached the engine (docs/DESIGN.md#metrics). */
  #refused<T>(answer: Result<T>): Result<T> {
    if (!answer.ok) this.#metrics.countRefusal(answer.error.code, this.now());
    return answer;
  }

  usage(): { rowsRead: number; rowsWritten: number } {
    return { ...this.#store.usage };
  }

  ping(): string {
    return "pong";
  }

  // ---------------------------------------------------------------------------------------------
  // The app's settings and stats

  open(app: string, settings?: Partial<AppSettings>): Result<AppSettings> {
    this.#enter();
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

  /** In the home object, a new shard count starts a move. */
  configure(app: string, settings: Partial<AppSettings>): Result<AppSettings> {
    this.#enter();
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

  /** A shard takes the app's settings on first use, and a layout newer than its own. */
  adopt(app: string, settings: Partial<AppSettings>, layout?: Layout): Result<AppSettings> {
    this.#enter();
    return resultOf(() => {
      const current = this.#app.stored(app, parseAppSettings(settings));
      if (layout !== undefined && this.ctx.id.name !== app) {
        this.#resharding.adopt(parseLayout(layout));
      }
      return current.settings;
    });
  }

  stats(app: string): Result<AppStats> {
    this.#enter();
    return resultOf(() => {
      assertAppName(app);
      if (this.#app.current?.stored !== true) throw appNotFound(app);
      // While the app is being deleted, its stats say so (and how much is left).
      const deleting = this.#deleting.deleting(app);
      const current = deleting ? (this.#app.current as OpenApp) : this.#app.of(app);
      const others = deleting ? this.#deleting.state?.others : undefined;
      const alarmAt = this.#alarm.at;
      const layout = this.#resharding.current(app);
      // Sessions handed off and taken in since the object started.
      const moved = { out: this.#resharding.movedOut, in: this.#owner.movedIn };
      return {
        app: current.name,
        settings: current.settings,
        // During a deletion, the home object adds what the app's other objects held when last asked.
        sessions: this.#store.count() + (others?.sessions ?? 0),
        nextSweep: alarmAt === null ? null : alarmAt / 1000,
        pendingEvents: this.#outbox.pending() + (others?.pendingEvents ?? 0),
        usage: { ...this.#store.usage },
        ...(layout === undefined ? { moved } : { layout, moved }),
        ...(deleting ? { deleting: true as const } : {}),
      };
    });
  }

  /**
   * This object's figures (docs/DESIGN.md#metrics): its counts and gauges. The home object adds
   * the app's layout and the most shards it ever had, so the router knows which objects to ask.
   * An object that holds no session of the app answers zeros. Reads nothing but the figures.
   */
  metrics(app: string): Result<ObjectMetricsAnswer> {
    this.#enter();
    return resultOf(() => {
      assertAppName(app);
      const held = this.#app.current;
      const here = held?.name === app ? held : undefined;
      const name = this.ctx.id.name ?? app;
      const figures = this.#metrics.read(name, here, this.#layout, this.now());
      const stored = here?.stored === true;
      if (name !== app || !stored) return { ...figures, stored };
      // The home object: whether the app is being deleted (docs/DESIGN.md#deleting-an-app).
      if (this.#deleting.deleting(app)) figures.deleting = true;
      const layout = this.#resharding.current(app);
      const peak = this.#layout.peak(layout);
      return layout === undefined
        ? { ...figures, stored, peak }
        : { ...figures, stored, peak, layout };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions

  get(app: string, key: string, epoch?: number): Answer<SessionView> {
    this.#enter();
    return this.#ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return sessionView(stored === undefined ? unstoredSnapshot(key, now) : snapshotOf(stored));
    });
  }

  /** `get`, the view as JSON text built around the data as stored (docs/DESIGN.md#compact-reads). */
  #getViewJson(app: string, key: string, epoch?: number): Answer<string> {
    this.#enter();
    return this.#ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      if (stored !== undefined) return sessionViewJson(stored, this.#store.dataJson(stored));
      return sessionViewJson(unstoredSnapshot(key, now), "{}");
    });
  }

  query(app: string, key: string, epoch?: number): Answer<SessionView | null> {
    this.#enter();
    return this.#ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : sessionView(snapshotOf(stored));
    });
  }

  /** `query`, the view as JSON text (see `#getViewJson`). */
  #queryViewJson(app: string, key: string, epoch?: number): Answer<string | null> {
    this.#enter();
    return this.#ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : sessionViewJson(stored, this.#store.dataJson(stored));
    });
  }

  getJson(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.#getViewJson(app, key, epoch));
  }

  queryJson(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.#queryViewJson(app, key, epoch));
  }

  has(app: string, key: string, epoch?: number): Answer<boolean> {
    this.#enter();
    return this.#ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.access(key, now) !== undefined;
    });
  }

  /** Goes through group commit (docs/DESIGN.md#group-commit), as `commitMany` does. */
  commit(app: string, changes: unknown, epoch?: number): Answer<CommitResult> {
    this.#awake();
    const checked = resultOf(() => {
      assertAppName(app);
      return [parseChangeset((changes as { key?: unknown } | null)?.key as string, changes)];
    });
    if (!checked.ok) return this.#refused(checked);
    const answers = this.#commits.commit(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((all) => all[0] as Result<CommitResult>)
      : (answers[0] as Result<CommitResult>);
  }

  commitMany(app: string, changes: unknown, epoch?: number): Answer<Result<CommitResult>[]> {
    this.#awake();
    const checked = resultOf(() => {
      assertAppName(app);
      return parseChangesets(changes);
    });
    if (!checked.ok) return this.#refused(checked);
    const answers = this.#commits.commit(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((value) => ({ ok: true, value }))
      : { ok: true, value: answers };
  }

  invalidate(app: string, key: string, epoch?: number): Answer<boolean> {
    this.#enter();
    return this.#ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.invalidate(key, now);
    });
  }

  /** Both keys must belong to this object under the app's layout, else 409 `wrong_shard`. */
  regenerate(app: string, oldKey: string, newKey: string, epoch?: number): Answer<SessionView> {
    this.#enter();
    const check = () => {
      assertSessionKey(oldKey);
      assertSessionKey(newKey);
    };
    return this.#ops.onKeys(app, [oldKey, newKey], epoch, check, (engine, now) => {
      return sessionView(snapshotOf(engine.regenerate(oldKey, newKey, now)));
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Users (docs/DESIGN.md#users)

  /**
   * Signs the session in (`SessionEngine.signIn`): `changes` committed, the session moved to
   * `newKey` bound to the user. Both keys must belong to this object, else 409 `wrong_shard`
   * (the router then signs in across objects: `bind`, then `retire`).
   */
  signIn(
    app: string,
    changes: unknown,
    newKey: string,
    binding: unknown,
    epoch?: number,
  ): Answer<SessionView> {
    this.#enter();
    const key = (changes as { key?: unknown } | null)?.key as string;
    const check = () => {
      const parsed = parseSignInChanges(changes);
      assertSessionKey(newKey);
      return { parsed, bound: parseBinding(binding) };
    };
    const answer = this.#ops.onKeys(
      app,
      [key, newKey],
      epoch,
      check,
      (engine, now, { parsed, bound }) =>
        sessionView(snapshotOf(engine.signIn(parsed, newKey, bound, now))),
    );
    return this.#signedIn(answer);
  }

  /** A sign-in's new session, when the old key lives in another object (`SessionEngine.bind`). */
  bind(
    app: string,
    newKey: string,
    content: unknown,
    binding: unknown,
    epoch?: number,
  ): Answer<SessionView> {
    this.#enter();
    const check = () => {
      assertSessionKey(newKey);
      return {
        given: content === null ? null : parseContent(content),
        bound: parseBinding(binding),
      };
    };
    const answer = this.#ops.onKeys(
      app,
      [newKey],
      epoch,
      check,
      (engine, now, { given, bound }) => {
        const from = given ?? { created: now, lastModified: null, data: {} };
        return sessionView(snapshotOf(engine.bind(newKey, from, bound, now)));
      },
    );
    return this.#signedIn(answer);
  }

  /** A sign-in's last step across objects: the old key ends if unchanged (`SessionEngine.retire`). */
  retire(app: string, key: string, sid: string, version: number, epoch?: number): Answer<boolean> {
    this.#enter();
    const check = () => {
      assertSessionKey(key);
      if (typeof sid !== "string" || !Number.isInteger(version)) {
        throw new InvalidInputError("retire names the session's sid and version.", "invalid_input");
      }
    };
    return this.#ops.onKeys(app, [key], epoch, check, (engine, now) => {
      engine.retire(key, sid, version, now);
      return true;
    });
  }

  /**
   * A user's live sessions. Their keys share the user's tag, so they are all in this object; during
   * a move, the ones still at their source are pulled here first.
   */
  userSessions(app: string, user: unknown, own?: string, epoch?: number): Answer<UserSession[]> {
    this.#enter();
    const check = () => {
      if (own !== undefined) assertSessionKey(own);
      return parseUserRef(user);
    };
    return this.#ops.onKeys(app, [userGroup(user)], epoch, check, (engine, now, ref) =>
      engine.userSessions(ref, own, now),
    );
  }

  /** Ends a user's sessions at once (`SessionEngine.endUserSessions`); answers how many. */
  endUserSessions(app: string, user: unknown, which: unknown, epoch?: number): Answer<number> {
    this.#enter();
    const check = () => ({ ref: parseUserRef(user), selection: parseEndSelection(which) });
    return this.#ops.onKeys(app, [userGroup(user)], epoch, check, (engine, now, checked) =>
      engine.endUserSessions(checked.ref, checked.selection, now),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Deleting the app (docs/DESIGN.md#deleting-an-app)

  /**
   * Deletes the app (`SessionManagerRpc.deleteApp`): begins, takes the work one step further,
   * and answers how far it has come; the alarm goes on with it. In the home object of a sharded
   * app, the app's other objects are deleted first, the home object last.
   */
  deleteApp(app: string): Promise<Result<AppDeletion>> {
    this.#enter();
    return this.#deletion.request(app);
  }

  // ---------------------------------------------------------------------------------------------
  // Resharding (docs/DESIGN.md#resharding)

  layout(app: string, placement?: Placement): Result<AppLayout> {
    this.#enter();
    return resultOf(() => this.#resharding.homeAnswer(this.#app.of(app), placement));
  }

  handOff(...args: HandOffArgs): Promise<Result<StoredSession[]>> {
    this.#enter();
    return this.#resharding.handOff(...args);
  }

  async receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    this.#enter();
    const result = await this.#owner.receive(app, epoch, sessions);
    this.#alarm.arm();
    return result;
  }

  release(app: string, sessions: { key: string; sid: string }[]): Result<number> {
    this.#enter();
    return resultOf(() => {
      assertAppName(app);
      return this.#resharding.release(sessions);
    });
  }

  moveDone(app: string, epoch: number, name: string): Result<Layout> {
    this.#enter();
    return resultOf(() => {
      this.#app.of(app);
      return this.#resharding.moveDone(app, epoch, name);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The sweep and the alarm (docs/DESIGN.md#sweep)

  async sweep(app: string): Promise<Result<number>> {
    this.#enter();
    const result = this.#ops.onApp(
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
    this.#enter();
    await this.#alarm.run(info, () => this.#upkeep(this.now()));
  }

  /** One alarm run's work (see `alarm`). */
  async #upkeep(now: number): Promise<void> {
    if (this.#deletion.underWay) {
      await this.#deletion.step();
      // The counts too, unless the storage went with the app.
      if (this.#deletion.underWay) this.#metrics.save(this.#app.current, now);
      return;
    }
    const engine = this.#app.current?.engine;
    if (engine !== undefined) {
      for (let i = 0; i < SWEEP_BATCHES_PER_ALARM; i++) {
        const ended = engine.sweepBatch(now, DEFAULT_SWEEP_BATCH);
        this.#events.runHooks();
        if (ended < DEFAULT_SWEEP_BATCH) break;
        await this.#outbox.flush();
      }
    }
    await this.#alarm.send();
    // Resharding: tell objects a new layout, drain sessions this object no longer owns.
    await this.#resharding.onAlarm();
    // The counts, the sweep's among them (docs/DESIGN.md#metrics).
    this.#metrics.save(this.#app.current, now);
  }
}

/** A compact read's answer as one string (`resultText`), once it is there. */
function asText(answer: Answer<string | null>): string | Promise<string> {
  return answer instanceof Promise ? answer.then(resultText) : resultText(answer);
}

/**
 * The key that stands for all of a user's sessions in routing (`tag!`): the object that owns it
 * owns every key of the tag, and during a move, pulling it pulls them all (`Resharding.handOff`).
 */
function userGroup(user: unknown): string {
  const tag = (user as { tag?: unknown } | null)?.tag;
  return `${typeof tag === "string" ? tag : ""}!`;
}

/** A check that `key` is a session key, for `SessionOps.onKeys`. */
function checkKey(key: string): () => void {
  return () => assertSessionKey(key);
}
