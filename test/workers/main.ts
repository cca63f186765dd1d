// The worker under test: the real one, with a Durable Object class whose clock the tests move.
import type {
  SessionBeginEvent,
  SessionEndEvent,
  SessionEvent,
  SessionEventBody,
} from "../../src/index";
import worker, { SessionManagerObject } from "../../worker/index";
import { testClock } from "./clock";
import { expectContract } from "./contract";
import { recordDeliveries } from "./deliveries";

export * from "../../worker/index";
// Named too: the test pool finds entrypoints by name, not through `export *`.
export { SessionService } from "../../worker/index";

/**
 * The real worker, with every HTTP answer checked against the OpenAPI document on its way to the
 * test (test/workers/contract.ts): an answer the document does not declare fails the request, so
 * the test that made it fails.
 */
export default {
  // Records every delivery (test/workers/deliveries.ts), then calls through, so that tests can
  // spy on the worker's handlers.
  queue: (batch) => {
    recordDeliveries(batch);
    return worker.queue(batch);
  },
  async fetch(request, env, ctx) {
    const response = await worker.fetch(request, env, ctx);
    await expectContract(request.method, request.url, response);
    return response;
  },
} satisfies ExportedHandler<Cloudflare.Env>;

/** The real session manager, reading time from `testClock`. */
export class ClockedSessionManagerObject extends SessionManagerObject {
  protected override now(): number {
    return testClock.now;
  }
}

/** What `FlakyQueueSessionManagerObject` did: the batches the Queue accepted, the hooks' events. */
export const flakyQueue = {
  /** Sends to refuse before accepting again. */
  failuresLeft: 0,
  accepted: [] as SessionEventBody[],
  /** Every batch a send was tried with, accepted or not. */
  attempted: [] as SessionEventBody[][],
  /** While set, sends wait for it (to interrupt the object mid-send). */
  hold: undefined as Promise<void> | undefined,
  hooked: [] as SessionEvent[],
};

/** Puts `flakyQueue` back as every test file expects to find it: accepting, nothing recorded. */
export function resetFlakyQueue(): void {
  flakyQueue.failuresLeft = 0;
  flakyQueue.accepted.length = 0;
  flakyQueue.attempted.length = 0;
  flakyQueue.hold = undefined;
  flakyQueue.hooked.length = 0;
}

/**
 * A session manager whose Queue refuses `flakyQueue.failuresLeft` sends, then accepts: a batch
 * accepted goes on to the real Queue, so its consumer's record (test/workers/deliveries.ts)
 * counts these objects' events too.
 */
export class FlakyQueueSessionManagerObject extends ClockedSessionManagerObject {
  protected override async sendEvents(events: SessionEventBody[]): Promise<void> {
    flakyQueue.attempted.push(events);
    if (flakyQueue.hold !== undefined) await flakyQueue.hold;
    if (flakyQueue.failuresLeft > 0) {
      flakyQueue.failuresLeft--;
      throw new Error("queue unavailable (test)");
    }
    await super.sendEvents(events);
    flakyQueue.accepted.push(...events);
  }

  protected override onSessionBegin(event: SessionBeginEvent): void {
    flakyQueue.hooked.push(event);
  }

  protected override onSessionEnd(event: SessionEndEvent): void {
    flakyQueue.hooked.push(event);
  }
}

// ---- Storage faults (test/workers/storage-failures.test.ts) ----

/** Which storage calls `FaultyStorageSessionManagerObject` fails, and what it saw. */
export const storageFaults = {
  /** Fails each statement it returns true for (its SQL and bindings), with an Error. */
  failStatement: undefined as ((query: string, bindings: unknown[]) => boolean) | undefined,
  /** Fails each outermost transaction it returns true for at its end, after its work ran. */
  failTransaction: undefined as (() => boolean) | undefined,
  /** Statements and transactions failed so far. */
  failures: 0,
  /** The events the in-process hooks received. */
  hooked: [] as SessionEvent[],
  /** The events the Queue accepted. */
  accepted: [] as SessionEventBody[],
};

/**
 * A session manager whose storage fails where `storageFaults` says: its `ctx.storage.sql.exec`
 * and `ctx.storage.transactionSync` are wrapped before the object starts, so the real object
 * meets the failure where the platform would raise it.
 */
export class FaultyStorageSessionManagerObject extends ClockedSessionManagerObject {
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    makeFaulty(ctx);
    super(ctx, env);
  }

  protected override async sendEvents(events: SessionEventBody[]): Promise<void> {
    storageFaults.accepted.push(...events);
  }

  protected override onSessionBegin(event: SessionBeginEvent): void {
    storageFaults.hooked.push(event);
  }

  protected override onSessionEnd(event: SessionEndEvent): void {
    storageFaults.hooked.push(event);
  }
}

function injected(what: string): Error {
  storageFaults.failures++;
  return new Error(`SQLITE_IOERR: injected ${what} failure (test)`);
}

/**
 * Wraps `ctx.storage.sql.exec` and `ctx.storage.transactionSync` in place (own properties over
 * the platform's), so that they fail where `storageFaults` says.
 */
function makeFaulty(ctx: DurableObjectState): void {
  const { storage } = ctx;
  const { sql } = storage;
  const exec = sql.exec.bind(sql);
  Object.defineProperty(sql, "exec", {
    value: (query: string, ...bindings: SqlStorageValue[]) => {
      if (storageFaults.failStatement?.(query, bindings)) throw injected("statement");
      return exec(query, ...bindings);
    },
  });
  Object.defineProperty(storage, "sql", { value: sql });
  const transactionSync = storage.transactionSync.bind(storage);
  let depth = 0;
  Object.defineProperty(storage, "transactionSync", {
    value: <T>(fn: () => T): T => {
      depth++;
      try {
        return transactionSync(() => {
          const value = fn();
          if (depth === 1 && storageFaults.failTransaction?.()) throw injected("transaction");
          return value;
        });
      } finally {
        depth--;
      }
    },
  });
}

/** A session manager deployed without a `SESSION_EVENTS` binding (test/workers/promises-object.test.ts). */
export class NoEventsSessionManagerObject extends ClockedSessionManagerObject {
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, { ...env, SESSION_EVENTS: undefined } as unknown as Cloudflare.Env);
  }
}
