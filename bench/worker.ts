// The worker the benchmarks run in workerd: the real worker (HTTP API, RPC entrypoint) with
// the real session manager class under a subclass whose clock the bench sets, plus `/bench/*`
// routes that drive Durable Object RPC from inside workerd, so that RPC figures are not HTTP.
// Bench only: never deploy it. bench/run.ts bundles it and binds it in Miniflare.

import { Hono } from "hono";
import type { Changeset } from "../src/core/changeset";
import type { JsonObject } from "../src/core/json";
import { objectName } from "../src/core/names";
import {
  isStored,
  type SessionSnapshot,
  sessionView,
  snapshotOfView,
} from "../src/core/session-view";
import type { SessionObjectRpc } from "../src/routing/object-rpc";
import { SessionRouter } from "../src/routing/router";
import { type Result, resultOfText } from "../src/routing/wire";
import { ROUTES } from "../worker/api/schema";
import { bearerAuth } from "../worker/http/auth";
import { route } from "../worker/http/routes";
import worker, { SessionManagerObject } from "../worker/index";
import { sessionRouter } from "../worker/router";
import type { CallSpec, ProbeKind } from "./calls";

export * from "../worker/index";
export type { CallSpec, ProbeKind } from "./calls";

/** Where `BenchSessionManagerObject` keeps its clock, so that it survives an eviction. */
const CLOCK_KEY = "bench:clock";

/** What `seed` creates: keys `prefix + (start … start + count - 1)`, or `keys`. */
export interface SeedSpec {
  prefix?: string;
  start?: number;
  count?: number;
  keys?: string[];
}

/** What `repeat` runs many times in one call: a get, a compact get, a group of commits, a probe. */
export type RepeatKind = "get" | "get-view" | "commit" | ProbeKind;

/** The RPC surface of `BenchSessionManagerObject`. */
export interface BenchObjectRpc extends SessionObjectRpc {
  setClock(seconds: number | null): Promise<void>;
  seed(app: string, spec: SeedSpec, data: JsonObject): Promise<number>;
  probe(kind: ProbeKind, app: string, key: string): Promise<unknown>;
  repeat(kind: RepeatKind, app: string, key: string, n: number): Promise<number>;
}

/** Changesets one `commitMany` call may carry (MAX_CHANGESETS_PER_CALL). */
const SEED_CHUNK = 128;

/**
 * The real session manager; `now()` reads a clock the bench sets (`setClock`), or real time when
 * none is set. `seed` creates sessions through the real commit path, many per call.
 */
export class BenchSessionManagerObject extends SessionManagerObject {
  #clock: number | null = null;
  #result: Result<SessionSnapshot> | undefined;
  #resultJson: string | undefined;
  #resultView: Result<string> | undefined;
  #resultText: string | undefined;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    // The table the write probes write to, made once when the object starts: never inside a
    // timed call, so the one-row-write floor times the write alone.
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS bench_probe (id INTEGER PRIMARY KEY, n INTEGER)",
    );
    const stored = ctx.storage.kv.get<number>(CLOCK_KEY);
    this.#clock = typeof stored === "number" ? stored : null;
  }

  protected override now(): number {
    return this.#clock ?? Date.now() / 1000;
  }

  /** Apps named `nofig…` count nothing: the bench's "metrics off" (bench/metrics.ts). */
  protected override keepsFigures(): boolean {
    return !(this.ctx.id.name ?? "").startsWith("nofig");
  }

  /** Sets the time this object reads (seconds since the epoch); `null` for real time. */
  setClock(seconds: number | null): void {
    this.#clock = seconds;
    if (seconds === null) this.ctx.storage.kv.delete(CLOCK_KEY);
    else this.ctx.storage.kv.put(CLOCK_KEY, seconds);
  }

  /**
   * Creates sessions through the real `commitMany` RPC method (new session, one change each),
   * 128 per group commit. Returns how many.
   */
  async seed(app: string, spec: SeedSpec, data: JsonObject): Promise<number> {
    const keys =
      spec.keys ??
      Array.from(
        { length: spec.count ?? 0 },
        (_, i) => `${spec.prefix ?? "s"}${(spec.start ?? 0) + i}`,
      );
    for (let i = 0; i < keys.length; i += SEED_CHUNK) {
      const changes = keys
        .slice(i, i + SEED_CHUNK)
        .map((key) => ({ key, sid: null, version: 0, set: data }));
      const results = await this.commitMany(app, changes);
      const failed = results.ok ? results.value.find((r) => !r.ok) : results;
      if (failed !== undefined && !failed.ok) {
        throw new Error(`seeding failed: ${failed.error.message}`);
      }
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
      case "sql-json": {
        const [row] = select();
        return row === undefined ? null : { key, data: JSON.parse(row.data) };
      }
      case "sql-write":
        sql.exec("INSERT OR REPLACE INTO bench_probe (id, n) VALUES (1, ?)", Date.now());
        return 1;
      case "sql-write-sync":
        sql.exec("INSERT OR REPLACE INTO bench_probe (id, n) VALUES (1, ?)", Date.now());
        this.ctx.storage.sync().catch(() => undefined);
        return 1;
      case "sql-write-txn1":
        this.ctx.storage.transactionSync(() => {
          sql.exec("INSERT OR REPLACE INTO bench_probe (id, n) VALUES (1, ?)", Date.now());
        });
        return 1;
      case "sql-write-txn":
        this.ctx.storage.transactionSync(() =>
          this.ctx.storage.transactionSync(() => {
            sql.exec("INSERT OR REPLACE INTO bench_probe (id, n) VALUES (1, ?)", Date.now());
          }),
        );
        return 1;
      case "sql-write-row": {
        // The statement a commit runs: every column of the session's row, its JSON as stored.
        const [row] = sql
          .exec<{ data: string; key_versions: string; version: number }>(
            "SELECT data, key_versions, version FROM sessions WHERE key = ?",
            key,
          )
          .toArray();
        if (row === undefined) throw new Error(`no session ${key}`);
        sql.exec(
          "UPDATE sessions SET sid = sid, version = ?, created = created, last_modified = ?, data = ?, key_versions = ?, cleared_version = cleared_version WHERE key = ?",
          row.version + 1,
          Date.now() / 1000,
          row.data,
          row.key_versions,
          key,
        );
        return 1;
      }
      case "sql-write-session":
        sql.exec(
          "UPDATE sessions SET last_modified = ?, data = data, key_versions = key_versions WHERE key = ?",
          Date.now() / 1000,
          key,
        );
        return 1;
      case "result":
        this.#result ??= settled(this.get(app, key));
        return this.#result;
      case "result-json":
        this.#resultJson ??= JSON.stringify(settled(this.get(app, key)));
        return this.#resultJson;
      case "result-view":
        this.#resultView ??= resultOfText(this.getJson(app, key) as string) as Result<string>;
        return this.#resultView;
      case "result-text":
        this.#resultText ??= this.getJson(app, key) as string;
        return this.#resultText;
    }
  }

  /**
   * Runs `kind` `n` times in this one call (one event): the cost of the work itself, without an
   * RPC round trip or a storage commit per operation. `commit` is one-key changes of the `n`
   * sessions `key0` … in one `commitMany`: the cost of a commit in a group.
   */
  async repeat(kind: RepeatKind, app: string, key: string, n: number): Promise<number> {
    if (kind === "commit") {
      const changes: Changeset[] = Array.from({ length: n }, (_, i) => {
        const snapshot = unwrapOk(settled(this.get(app, `${key}${i}`)));
        return { key: snapshot.key, sid: snapshot.sid, version: snapshot.version, set: { n: i } };
      });
      const results = await this.commitMany(app, changes);
      if (!results.ok || results.value.some((r) => !r.ok)) throw new Error("bench commit failed");
      return n;
    }
    for (let i = 0; i < n; i++) {
      if (kind === "get") this.get(app, key);
      else if (kind === "get-view") this.getJson(app, key);
      else this.probe(kind, app, key);
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

/** A prepared call: `run(w, i)` makes call `i` of worker `w`. */
interface Caller {
  run(w: number, i: number): Promise<void>;
}

function stubOf(env: Env, name: string): BenchObjectRpc {
  return env.SESSION_MANAGER.getByName(name) as unknown as BenchObjectRpc;
}

/** One router per isolate, as the worker has (worker/router.ts). */
let benchRouter: SessionRouter | undefined;

function check<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** Prepares the stubs (and, for commits, each worker's snapshot) of a `CallSpec`. */
async function caller(env: Env, spec: CallSpec): Promise<Caller> {
  const { op, app, keys, concurrency } = spec;
  const shards = spec.shards ?? 1;
  const routing = spec.routing ?? "fixed";
  // Looked up only for calls that use them (a routed call makes its own stubs).
  const fixed = new Map(
    routing === "fixed" ? keys.map((key) => [key, stubOf(env, objectName(app, key, shards))]) : [],
  );
  benchRouter ??= new SessionRouter(env.SESSION_MANAGER);
  const router = benchRouter;
  const keyOf = (w: number, i: number) => keys[(w + i * concurrency) % keys.length] as string;
  const stub = (key: string): BenchObjectRpc =>
    routing === "getByName"
      ? stubOf(env, objectName(app, key, shards))
      : (fixed.get(key) as BenchObjectRpc);
  if (op === "ping") return { run: async (w, i) => void (await stub(keyOf(w, i)).ping()) };
  if (op === "probe") {
    const kind = spec.probe ?? "none";
    return { run: async (w, i) => void (await stub(keyOf(w, i)).probe(kind, app, keyOf(w, i))) };
  }
  if (op === "get") {
    return {
      run: async (w, i) => {
        const key = keyOf(w, i);
        check(routing === "router" ? await router.get(app, key) : await stub(key).get(app, key));
      },
    };
  }
  if (op === "get-view" || op === "get-view-parsed") {
    const parse = op === "get-view-parsed";
    return {
      run: async (w, i) => {
        const key = keyOf(w, i);
        const view = check(
          routing === "router"
            ? await router.getViewJson(app, key)
            : (resultOfText(await stub(key).getJson(app, key)) as Result<string>),
        );
        if (parse) snapshotOfView(view);
      },
    };
  }
  if (keys.length < concurrency) throw new Error("commit needs one key per worker");
  const snapshots: SessionSnapshot[] = [];
  for (let w = 0; w < concurrency; w++) {
    const key = keys[w] as string;
    snapshots.push(check(await stub(key).get(app, key)));
  }
  return {
    run: async (w, i) => {
      const current = snapshots[w] as SessionSnapshot;
      const changes: Changeset = {
        key: current.key,
        sid: current.sid,
        version: current.version,
        set: { n: i },
      };
      const stored = check(await stub(current.key).commit(app, changes));
      if (isStored(stored)) snapshots[w] = stored;
    },
  };
}

/** Runs calls for about `ms` (time moves with each call's I/O); returns calls per second. */
async function slice(run: Caller["run"], concurrency: number, ms: number): Promise<number> {
  const started = Date.now();
  const end = started + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; Date.now() < end; i++) {
        await run(w, i);
        done++;
      }
    }),
  );
  const elapsed = Math.max(1, Date.now() - started);
  return (done / elapsed) * 1000;
}

/**
 * `POST /bench/ab`: measures A and B interleaved in one window: a warm-up of each, then `pairs`
 * pairs of short slices, A then B and B then A in turn, so that whatever the machine does
 * meanwhile falls on both alike. Returns the calls per second of every slice.
 */
interface AbSpec {
  a: CallSpec;
  b: CallSpec;
  pairs: number;
  sliceMs: number;
  warmupMs: number;
}

async function ab(env: Env, spec: AbSpec): Promise<Response> {
  const a = await caller(env, spec.a);
  const b = await caller(env, spec.b);
  await slice(a.run, spec.a.concurrency, spec.warmupMs);
  await slice(b.run, spec.b.concurrency, spec.warmupMs);
  const rates = { a: [] as number[], b: [] as number[] };
  for (let p = 0; p < spec.pairs; p++) {
    const order = p % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
    for (const side of order) {
      const runner = side === "a" ? a : b;
      const concurrency = side === "a" ? spec.a.concurrency : spec.b.concurrency;
      rates[side].push(await slice(runner.run, concurrency, spec.sliceMs));
    }
  }
  return Response.json(rates);
}

/** `POST /bench/loop`: `n` calls of one `CallSpec` (rows are counted around it). */
async function loop(env: Env, spec: CallSpec & { n: number }): Promise<Response> {
  const { run } = await caller(env, spec);
  const perWorker = Math.ceil(spec.n / spec.concurrency);
  const started = Date.now();
  await Promise.all(
    Array.from({ length: spec.concurrency }, async (_, w) => {
      for (let i = 0; i < perWorker; i++) await run(w, i);
    }),
  );
  return Response.json({ ops: perWorker * spec.concurrency, elapsedMs: Date.now() - started });
}

/** `POST /bench/call`: one RPC call on the object `name`, timed around its await. */
interface OneCall {
  name: string;
  method: string;
  args: unknown[];
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

/**
 * What the runtime allows with stubs and ids kept between requests: `POST /bench/reuse` keeps a
 * stub and an id of `name` from the first request in this isolate's memory, and in every later
 * request calls `ping()` on the kept stub, and on a stub made from the kept id; it answers what
 * each did (`"ok"`, or the error's message).
 */
let kept: { stub: BenchObjectRpc; id: DurableObjectId } | undefined;

async function reuse(env: Env, spec: { name: string }): Promise<Response> {
  if (kept === undefined) {
    const id = env.SESSION_MANAGER.idFromName(spec.name);
    kept = { id, stub: env.SESSION_MANAGER.get(id) as unknown as BenchObjectRpc };
    await kept.stub.ping();
    return Response.json({ first: true });
  }
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      return "ok";
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  };
  const { stub, id } = kept;
  return Response.json({
    first: false,
    keptStub: await attempt(() => stub.ping()),
    keptId: await attempt(() => (env.SESSION_MANAGER.get(id) as unknown as BenchObjectRpc).ping()),
  });
}

async function bench(request: Request, env: Env, path: string): Promise<Response> {
  if (request.headers.get("Authorization") !== `Bearer ${env.SESSIONS_API_TOKEN}`) {
    return Response.json({ error: "unauthorized" }, { status: 401 });
  }
  try {
    const body = await request.json();
    if (path === "/bench/ab") return await ab(env, body as AbSpec);
    if (path === "/bench/loop") return await loop(env, body as CallSpec & { n: number });
    if (path === "/bench/call") return await oneCall(env, body as OneCall);
    if (path === "/bench/names") return names(body as { app: string; keys: string[] });
    if (path === "/bench/reuse") return await reuse(env, body as { name: string });
    return Response.json({ error: "not found" }, { status: 404 });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return Response.json({ error: message }, { status: 500 });
  }
}

/** The floor's constant answer. */
const FLOOR_ANSWER = JSON.stringify({ ok: true });

/**
 * Parts of the HTTP read alone, to see where its time goes: `/bench-http/auth` is the worker's
 * bearer auth and a constant answer, `/bench-http/plain` the same answer without the auth;
 * `/bench-http/query/:app/:key` is the session query over
 * DO RPC and the JSON answer, without auth. (`/healthz` is neither; the real read is both.)
 *
 * `/bench-http/floor/apps/:app/sessions/:key` is the floor of an HTTP read: everything the read
 * does but the read itself. The same bearer auth, the same route registration and path
 * validation (`route` with the query's declaration), the worker's router (`sessionRouter`, its
 * ids kept per isolate, a stub per request), then one empty call (`ping()`) to the object that
 * holds the session, and a constant JSON answer.
 */
const httpProbes = new Hono<{ Bindings: Env }>();
httpProbes.get("/bench-http/auth", bearerAuth(), (c) => c.json({ ok: true }));
// The same constant answer of the same app without the auth: what the auth alone adds.
httpProbes.get("/bench-http/plain", (c) => c.json({ ok: true }));
httpProbes.use("/bench-http/floor/*", bearerAuth());
route(
  httpProbes,
  { ...ROUTES.query, path: "/bench-http/floor/apps/{app}/sessions/{key}" },
  async (c, { params: { app, key } }) => {
    await sessionRouter(c.env).object(objectName(app, key)).ping();
    return new Response(FLOOR_ANSWER, { headers: { "Content-Type": "application/json" } });
  },
);
httpProbes.get("/bench-http/query/:app/:key", async (c) => {
  const { app, key } = c.req.param();
  const result = await stubOf(c.env, objectName(app, key)).query(app, key);
  if (!result.ok || result.value === null) return c.json({ error: "no session" }, 404);
  return c.json(sessionView(result.value));
});

export default {
  fetch(request, env, ctx) {
    // The path without parsing the URL (a cost on every request the bench measures, the real
    // worker's included): the absolute URL's path starts at the first "/" after "scheme://".
    const url = request.url;
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2)).split("?")[0] as string;
    if (path.startsWith("/bench/")) return bench(request, env, path);
    if (path.startsWith("/bench-http/")) return httpProbes.fetch(request, env, ctx);
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
} satisfies ExportedHandler<Env>;
