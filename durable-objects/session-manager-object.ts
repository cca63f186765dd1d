import { DurableObject } from "cloudflare:workers";
import { parseChangeset, parseChangesets } from "../src/changeset.js";
import { DEFAULT_SWEEP_BATCH } from "../src/engine.js";
import { type SessionBeginEvent, SessionEndEvent, type SessionEventBody } from "../src/events.js";
import type { AppLayout, Layout, Placement } from "../src/layout.js";
import { assertAppName, assertSessionKey } from "../src/names.js";
import type { HandOffArgs } from "../src/object-rpc.js";
import type { SessionObjectNamespace } from "../src/router.js";
import {
  type CommitResult,
  resultText,
  type SessionView,
  type StoredSession,
  sessionView,
  sessionViewJson,
  snapshotOf,
  unstoredSnapshot,
} from "../src/session-view.js";
import type { AppSettings } from "../src/settings.js";
import { type Answer, type AppStats, type Result, resultOf } from "../src/wire.js";
import { SWEEP_BATCHES_PER_ALARM } from "./alarm-policy.js";
import { ObjectCore } from "./object-core.js";

type Env = { SESSION_EVENTS?: Queue; SESSION_MANAGER?: DurableObjectNamespace };

/**
 * One app's session manager (or one shard of it) in a Durable Object. Its SQLite storage holds
 * the sessions, the app's settings and the event outbox (docs/DESIGN.md#storage); its alarm runs
 * the sweep. The operations are those of `SessionObjectRpc` (src/object-rpc.ts), documented there;
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
  /** What the object does behind this RPC surface (object-core.ts). */
  readonly #core: ObjectCore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#core = new ObjectCore(ctx, {
      now: () => this.now(),
      onEvent: (event) =>
        event instanceof SessionEndEvent ? this.onSessionEnd(event) : this.onSessionBegin(event),
      sendEvents:
        env.SESSION_EVENTS === undefined ? undefined : (events) => this.sendEvents(events),
      objects: () => this.sessionObjects(),
    });
    ctx.blockConcurrencyWhile(() => this.#core.alarm.start());
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
    return { ...this.#core.store.usage };
  }

  ping(): string {
    return "pong";
  }

  open(app: string, settings?: Partial<AppSettings>): Result<AppSettings> {
    this.#core.commits.flush();
    return resultOf(() => this.#core.open(app, settings));
  }

  configure(app: string, settings: Partial<AppSettings>): Result<AppSettings> {
    this.#core.commits.flush();
    return resultOf(() => this.#core.configure(app, settings));
  }

  adopt(app: string, settings: Partial<AppSettings>, layout?: Layout): Result<AppSettings> {
    this.#core.commits.flush();
    return resultOf(() => this.#core.adopt(app, settings, layout));
  }

  layout(app: string, placement?: Placement): Result<AppLayout> {
    this.#core.commits.flush();
    return resultOf(() => this.#core.resharding.homeAnswer(this.#core.app.of(app), placement));
  }

  handOff(...args: HandOffArgs): Promise<Result<StoredSession[]>> {
    this.#core.commits.flush();
    return this.#core.resharding.handOff(...args);
  }

  async receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    this.#core.commits.flush();
    const result = await this.#core.owner.receive(app, epoch, sessions);
    this.#core.alarm.arm();
    return result;
  }

  release(app: string, sessions: { key: string; sid: string }[]): Result<number> {
    this.#core.commits.flush();
    return resultOf(() => {
      assertAppName(app);
      return this.#core.resharding.release(sessions);
    });
  }

  moveDone(app: string, epoch: number, name: string): Result<Layout> {
    this.#core.commits.flush();
    return resultOf(() => {
      this.#core.app.of(app);
      return this.#core.resharding.moveDone(app, epoch, name);
    });
  }

  get(app: string, key: string, epoch?: number): Answer<SessionView> {
    return this.#core.ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return sessionView(stored === undefined ? unstoredSnapshot(key, now) : snapshotOf(stored));
    });
  }

  getView(app: string, key: string, epoch?: number): Answer<string> {
    return this.#core.ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      if (stored !== undefined) return sessionViewJson(stored, this.#core.store.dataJson(stored));
      return sessionViewJson(unstoredSnapshot(key, now), "{}");
    });
  }

  query(app: string, key: string, epoch?: number): Answer<SessionView | null> {
    return this.#core.ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined ? null : sessionView(snapshotOf(stored));
    });
  }

  queryView(app: string, key: string, epoch?: number): Answer<string | null> {
    return this.#core.ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      const stored = engine.access(key, now);
      return stored === undefined
        ? null
        : sessionViewJson(stored, this.#core.store.dataJson(stored));
    });
  }

  getText(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.getView(app, key, epoch));
  }

  queryText(app: string, key: string, epoch?: number): string | Promise<string> {
    return asText(this.queryView(app, key, epoch));
  }

  has(app: string, key: string, epoch?: number): Answer<boolean> {
    return this.#core.ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
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
    const answers = this.#core.commits.commit(app, checked.value, epoch);
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
    const answers = this.#core.commits.commit(app, checked.value, epoch);
    return answers instanceof Promise
      ? answers.then((value) => ({ ok: true, value }))
      : { ok: true, value: answers };
  }

  invalidate(app: string, key: string, epoch?: number): Answer<boolean> {
    return this.#core.ops.onKeys(app, [key], epoch, checkKey(key), (engine, now) => {
      return engine.invalidate(key, now);
    });
  }

  /** Both keys must belong to this object under the app's layout, else 409 `wrong_shard`. */
  regenerate(app: string, oldKey: string, newKey: string, epoch?: number): Answer<SessionView> {
    const check = () => {
      assertSessionKey(oldKey);
      assertSessionKey(newKey);
    };
    return this.#core.ops.onKeys(app, [oldKey, newKey], epoch, check, (engine, now) => {
      return sessionView(snapshotOf(engine.regenerate(oldKey, newKey, now)));
    });
  }

  stats(app: string): Result<AppStats> {
    this.#core.commits.flush();
    return resultOf(() => this.#core.stats(app));
  }

  async sweep(app: string): Promise<Result<number>> {
    const result = this.#core.ops.onApp(
      app,
      () => {},
      (engine, now) => engine.sweep(now, DEFAULT_SWEEP_BATCH, SWEEP_BATCHES_PER_ALARM),
    );
    await this.#core.alarm.flushQuietly();
    return result;
  }

  /**
   * The sweep: ends expired sessions in bounded batches (one transaction each), sends the
   * outbox, takes a move one step further, and re-arms. Safe to run twice.
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    this.#core.commits.flush();
    await this.#core.alarm.run(info, () => this.#core.upkeep(this.now()));
  }
}

/** A compact read's answer as one string (`resultText`), once it is there. */
function asText(answer: Answer<string | null>): string | Promise<string> {
  return answer instanceof Promise ? answer.then(resultText) : resultText(answer);
}

/** A check that `key` is a session key, for `SessionOps.onKeys`. */
function checkKey(key: string): () => void {
  return () => assertSessionKey(key);
}
