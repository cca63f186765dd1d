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
