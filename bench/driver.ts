// The bench worker in a local workerd, and the calls the runner makes to it: one RPC call on an
// object, a loop of calls, and A/B measurements in interleaved slices (all driven from inside
// workerd, so RPC figures are not HTTP).
import type { CallSpec } from "./calls.ts";
import { type LocalWorker, startLocalWorker } from "./workerd.ts";

export type { CallSpec } from "./calls.ts";

export interface Usage {
  rowsRead: number;
  rowsWritten: number;
}

/** A running bench worker and its base URL. */
export class BenchWorker {
  readonly base: string;
  readonly #token: string;
  readonly #local: LocalWorker;

  private constructor(local: LocalWorker, token: string) {
    this.#local = local;
    this.base = local.base;
    this.#token = token;
  }

  static async start(
    root: string,
    token: string,
    debug: { inspectorPort?: number; sourcemap?: boolean } = {},
  ): Promise<BenchWorker> {
    const local = await startLocalWorker({
      ...debug,
      root,
      entry: "bench/worker.ts",
      name: "bench",
      bindings: { SESSIONS_API_TOKEN: token, ENVIRONMENT: "bench" },
      durableObjects: {
        SESSION_MANAGER: { className: "BenchSessionManagerObject", useSQLite: true },
      },
      queueProducers: { SESSION_EVENTS: { queueName: "edge-sessions-events" } },
    });
    return new BenchWorker(local, token);
  }

  dispose(): Promise<void> {
    return this.#local.dispose();
  }

  get auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.#token}` };
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(this.base + path, {
      method: "POST",
      headers: { ...this.auth, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** One RPC call on the object `name`; its value and the ms it took inside workerd. */
  async call<T>(name: string, method: string, ...args: unknown[]) {
    const out = await this.post<{ value: T; elapsedMs: number }>("/bench/call", {
      name,
      method,
      args,
    });
    const value = out.value as unknown as { ok?: boolean; error?: { message: string } };
    if (value !== null && typeof value === "object" && value.ok === false) {
      throw new Error(`${method} on ${name}: ${value.error?.message}`);
    }
    return out;
  }

  /** The Durable Object names that hold `keys` of `app` with `shards` (objectName, in workerd). */
  async objectsOf(app: string, keys: string[], shards = 1): Promise<Map<string, string[]>> {
    const names = await this.post<Record<string, string[]>>("/bench/names", { app, keys, shards });
    return new Map(Object.entries(names));
  }

  /** The one object of an app with one shard. */
  async objectOf(app: string): Promise<string> {
    const [name] = (await this.objectsOf(app, [""])).keys();
    if (name === undefined) throw new Error(`no object for ${app}`);
    return name;
  }

  async usage(name: string): Promise<Usage> {
    return (await this.call<Usage>(name, "usage")).value;
  }

  /** `n` calls of one kind, `concurrency` in flight. */
  loop(spec: CallSpec & { n: number }): Promise<{ ops: number; elapsedMs: number }> {
    return this.post("/bench/loop", spec);
  }

  /**
   * A and B measured in `pairs` pairs of interleaved slices of `sliceMs` each (A B, B A, …),
   * after a warm-up of each. Calls per second of every slice, pair by pair.
   */
  ab(
    a: CallSpec,
    b: CallSpec,
    plan: { pairs: number; sliceMs: number; warmupMs: number },
  ): Promise<{ a: number[]; b: number[] }> {
    return this.post("/bench/ab", { a, b, ...plan });
  }
}

export function delta(before: Usage, after: Usage): Usage {
  return {
    rowsRead: after.rowsRead - before.rowsRead,
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}
