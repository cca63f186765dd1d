// The worker the benchmarks run in workerd: the real worker (HTTP API, RPC entrypoint) with
// the real session manager class under a subclass whose clock the bench sets, plus `/bench/*`
// routes that drive Durable Object RPC from inside workerd, so that RPC figures are not HTTP.
// Bench only: never deploy it. bench/run.mjs bundles it and binds it in Miniflare.

import { Hono } from "hono";
import type { Changeset } from "../src/changeset";
import type { JsonObject } from "../src/json";
import { objectName } from "../src/naming";
import type { SessionObjectRpc } from "../src/protocol";
import type { Result } from "../src/result";
import { isStored, type SessionSnapshot, sessionView } from "../src/stored-session";
import { bearerAuth } from "../worker/auth";
import worker, { SessionManagerObject } from "../worker/index";
import { sessionRouter } from "../worker/manager";

export * from "../worker/index";

/** Where `BenchSessionManagerObject` keeps its clock, so that it survives an eviction. */
const CLOCK_KEY = "bench:clock";

/** What `/bench/seed` creates: keys `prefix + (start … start + count - 1)`, or `keys`. */
export interface SeedSpec {
  prefix?: string;
  start?: number;
  count?: number;
  keys?: string[];
}

/**
 * Diagnostics, one part of a call alone: `none`, nothing (a call with a get's arguments and a
 * number back); `sql`, the session row's SELECT; `sql-tx`, the same in
 * `transactionSync`; `sql-json`, the SELECT with its data parsed and returned; `sql-write`, one
 * row written to a bench table (what any storage write costs the event); `result`, the `get`
 * result of the key, computed once and returned again (what returning a session costs);
 * `result-json`, that result as one JSON string.
 */
export type ProbeKind =
  | "none"
  | "sql"
  | "sql-tx"
  | "sql-json"
  | "sql-write"
  | "result"
  | "result-json";

/** What `repeat` runs many times in one call: a get, a commit, or a probe. */
export type RepeatKind = "get" | "commit" | ProbeKind;

/** The RPC surface of `BenchSessionManagerObject`. */
export interface BenchObjectRpc extends SessionObjectRpc {
  setClock(seconds: number | null): Promise<void>;
  seed(app: string, spec: SeedSpec, data: JsonObject): Promise<number>;
  probe(kind: ProbeKind, app: string, key: string): Promise<unknown>;
  repeat(kind: RepeatKind, app: string, key: string, n: number): Promise<number>;
}

/**
 * The real session manager; `now()` reads a clock the bench sets (`setClock`), or real time when
 * none is set. `seed` creates sessions through the real commit path, many in one call.
 */
export class BenchSessionManagerObject extends SessionManagerObject {
  #clock: number | null = null;
  #result: Result<SessionSnapshot> | undefined;
  #resultJson: string | undefined;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    const stored = ctx.storage.kv.get<number>(CLOCK_KEY);
    this.#clock = typeof stored === "number" ? stored : null;
  }

  protected override now(): number {
    return this.#clock ?? Date.now() / 1000;
  }

  /** Sets the time this object reads (seconds since the epoch); `null` for real time. */
  setClock(seconds: number | null): void {
    this.#clock = seconds;
    if (seconds === null) this.ctx.storage.kv.delete(CLOCK_KEY);
    else this.ctx.storage.kv.put(CLOCK_KEY, seconds);
  }

  /**
   * Creates sessions through the real `commit` RPC method (new session, one change each), in
   * one synchronous run: SQLite coalesces it into one implicit transaction. Returns how many.
   */
  seed(app: string, spec: SeedSpec, data: JsonObject): number {
    const keys =
      spec.keys ??
      Array.from(
        { length: spec.count ?? 0 },
        (_, i) => `${spec.prefix ?? "s"}${(spec.start ?? 0) + i}`,
      );
    for (const key of keys) {
      const result = settled(this.commit(app, { key, sid: null, version: 0, set: data }));
      if (!result.ok) throw new Error(`seeding ${key} failed: ${result.error.message}`);
    }
    return keys.length;
  }

  /** One part of a call, alone (see `ProbeKind`). */
  probe(kind: ProbeKind, app: string, key: string): unknown {
    const sql = this.ctx.storage.sql;
    const select = () =>
      sql.exec<{ data: string }>("SELECT data FROM sessions WHERE key = ?", key).toArray();
    switch (kind) {
      case "none":
        return 1;
      case "sql":
        return select().length;
      case "sql-tx":
        return this.ctx.storage.transactionSync(select).length;
      case "sql-json": {
        const [row] = select();
        return row === undefined ? null : { key, data: JSON.parse(row.data) };
      }
      case "sql-write":
        sql.exec("CREATE TABLE IF NOT EXISTS bench_probe (id INTEGER PRIMARY KEY, n INTEGER)");
        sql.exec("INSERT OR REPLACE INTO bench_probe (id, n) VALUES (1, ?)", Date.now());
        return 1;
      case "result":
        this.#result ??= settled(this.get(app, key));
        return this.#result;
      case "result-json":
        this.#resultJson ??= JSON.stringify(this.get(app, key));
        return this.#resultJson;
    }
  }

  /**
   * Runs `kind` `n` times in this one call (one event, so one implicit transaction): the cost
   * of the work itself, without an RPC round trip or a storage commit per operation.
   */
  repeat(kind: RepeatKind, app: string, key: string, n: number): number {
    let snapshot: SessionSnapshot | null = null;
    for (let i = 0; i < n; i++) {
      if (kind === "get") {
        this.get(app, key);
      } else if (kind === "commit") {
        snapshot ??= unwrapOk(settled(this.get(app, key)));
        const changes: Changeset = {
          key,
          sid: snapshot.sid,
          version: snapshot.version,
          set: { n: i },
        };
        const committed = unwrapOk(settled(this.commit(app, changes)));
        snapshot = isStored(committed) ? committed : null;
      } else {
        this.probe(kind, app, key);
      }
    }
    return n;
  }
}

/** A result computed at once: in-process calls of the bench never wait for a session to move. */
function settled<T>(result: Result<T> | Promise<Result<T>>): Result<T> {
  if (result instanceof Promise) throw new Error("bench: a call waited for a session to move");
  return result;
}

function unwrapOk<T>(result: Result<T | null>): T {
  if (!result.ok || result.value === null) throw new Error("bench operation failed");
  return result.value;
}

type Env = Cloudflare.Env;

/** `POST /bench/rpc`: a timed loop of RPC calls to session manager objects. */
interface RpcLoop {
  /** `router-get`: a get through the worker's `SessionRouter` (layouts, redirections). */
  op: "get" | "ping" | "commit" | "probe" | "router-get";
  /** For `probe`: which part of a get. */
  probe?: ProbeKind;
  app: string;
  /** Session keys the calls go over (round robin). For `commit`, one key per worker instead. */
  keys: string[];
  /** Total calls. */
  n: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Shards the keys spread over (`objectName(app, key, shards)`). Default 1. */
  shards?: number;
  /**
   * `derive`: name the object (`objectName`, a hash) and get a stub for every call, as the
   * worker does; `name`: name it for every call, its stub from a map by name; `fixed`: stubs
   * looked up once per key before the timed loop. Default `fixed`.
   */
  routing?: "derive" | "name" | "fixed";
}

/** `POST /bench/call`: one RPC call on the object `name`, timed around its await. */
interface OneCall {
  name: string;
  method: string;
  args: unknown[];
}

function stubOf(env: Env, name: string): BenchObjectRpc {
  return env.SESSION_MANAGER.getByName(name) as unknown as BenchObjectRpc;
}

function failed(result: Result<unknown>): string | undefined {
  return result.ok ? undefined : `${result.error.code}: ${result.error.message}`;
}

async function rpcLoop(env: Env, spec: RpcLoop): Promise<Response> {
  const { op, app, keys, n, concurrency } = spec;
  const shards = spec.shards ?? 1;
  const fixed = new Map(keys.map((key) => [key, stubOf(env, objectName(app, key, shards))]));
  const byName = new Map(keys.map((key) => [objectName(app, key, shards), fixed.get(key)]));
  const stub = (key: string): BenchObjectRpc => {
    if (spec.routing === "derive") return stubOf(env, objectName(app, key, shards));
    if (spec.routing === "name") return byName.get(objectName(app, key, shards)) as BenchObjectRpc;
    return fixed.get(key) as BenchObjectRpc;
  };
  let errors = 0;
  let firstError: string | undefined;
  const note = (message: string | undefined) => {
    if (message === undefined) return;
    errors++;
    firstError ??= message;
  };
  const perWorker = Math.ceil(n / concurrency);

  // Commit loops: worker w changes one key of its own (`keys[w]`), each commit against the
  // version the last one returned, so that no commit conflicts.
  const snapshots: SessionSnapshot[] = [];
  if (op === "commit") {
    if (keys.length < concurrency) throw new Error("commit needs one key per worker");
    for (let w = 0; w < concurrency; w++) {
      const key = keys[w] as string;
      const result = await stub(key).get(app, key);
      if (!result.ok) throw new Error(failed(result));
      snapshots.push(result.value);
    }
  }

  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; i < perWorker; i++) {
        if (op === "ping") {
          await stub(keys[(w + i * concurrency) % keys.length] as string).ping();
        } else if (op === "probe") {
          const key = keys[(w + i * concurrency) % keys.length] as string;
          await stub(key).probe(spec.probe ?? "sql", app, key);
        } else if (op === "get") {
          const key = keys[(w + i * concurrency) % keys.length] as string;
          note(failed(await stub(key).get(app, key)));
        } else if (op === "router-get") {
          const key = keys[(w + i * concurrency) % keys.length] as string;
          note(failed(await sessionRouter(env).get(app, key)));
        } else {
          const current = snapshots[w] as SessionSnapshot;
          const changes: Changeset = {
            key: current.key,
            sid: current.sid,
            version: current.version,
            set: { n: i },
          };
          const result = await stub(current.key).commit(app, changes);
          note(failed(result));
          if (result.ok && isStored(result.value)) snapshots[w] = result.value;
        }
      }
    }),
  );
  const elapsedMs = Date.now() - started;
  const ops = perWorker * concurrency;
  return Response.json({
    op,
    ops,
    elapsedMs,
    opsPerSecond: (ops / elapsedMs) * 1000,
    errors,
    firstError,
  });
}

async function oneCall(env: Env, spec: OneCall): Promise<Response> {
  const target = stubOf(env, spec.name) as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >;
  const started = Date.now();
  // Called on the stub itself: an RPC method is not a function value that can be applied.
  const value = await target[spec.method]?.(...spec.args);
  return Response.json({ value: value ?? null, elapsedMs: Date.now() - started });
}

/** `POST /bench/names`: the objects that hold `keys` of `app` with `shards`, and their keys. */
function names(spec: { app: string; keys: string[]; shards?: number }): Response {
  const byName: Record<string, string[]> = {};
  for (const key of spec.keys) {
    const name = objectName(spec.app, key, spec.shards ?? 1);
    byName[name] = [...(byName[name] ?? []), key];
  }
  return Response.json(byName);
}

async function bench(request: Request, env: Env, path: string): Promise<Response> {
  if (request.headers.get("Authorization") !== `Bearer ${env.SESSIONS_API_TOKEN}`) {
    return Response.json({ error: "unauthorized" }, { status: 401 });
  }
  try {
    const body = await request.json();
    if (path === "/bench/rpc") return await rpcLoop(env, body as RpcLoop);
    if (path === "/bench/call") return await oneCall(env, body as OneCall);
    if (path === "/bench/names") return names(body as { app: string; keys: string[] });
    return Response.json({ error: "not found" }, { status: 404 });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return Response.json({ error: message }, { status: 500 });
  }
}

/**
 * Parts of the HTTP read alone, to see where its time goes: `/bench-http/auth` is the worker's
 * bearer auth and a constant answer; `/bench-http/query/:app/:key` is the session query over
 * DO RPC and the JSON answer, without auth. (`/healthz` is neither; the real read is both.)
 */
const httpProbes = new Hono<{ Bindings: Env }>();
httpProbes.get("/bench-http/auth", bearerAuth(), (c) => c.json({ ok: true }));
httpProbes.get("/bench-http/query/:app/:key", async (c) => {
  const { app, key } = c.req.param();
  const result = await stubOf(c.env, objectName(app, key)).query(app, key);
  if (!result.ok || result.value === null) return c.json({ error: "no session" }, 404);
  return c.json(sessionView(result.value));
});

export default {
  fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/bench/")) return bench(request, env, path);
    if (path.startsWith("/bench-http/")) return httpProbes.fetch(request, env, ctx);
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
} satisfies ExportedHandler<Env>;
