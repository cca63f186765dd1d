// Session events counted where they are delivered: the test worker's queue handler
// (test/workers/main.ts) records every message the real `SESSION_EVENTS` Queue delivers, before
// the example consumer sees it. Tests read the record here, and check it with `repeatsOf`: the
// Queue delivers at least once, so the same message may come again, but one session never has two
// begin or two end events (docs/DESIGN.md#events).
import type { SessionEventBody } from "../../src/index";

/** One delivery of one message, as the consumer saw it. */
export interface Delivery {
  messageId: string;
  /** The Queue's count of deliveries of this message (1 the first time). */
  attempts: number;
  body: SessionEventBody;
}

/** Every delivery so far in this test file's worker, in arrival order (never cleared). */
export const deliveries: Delivery[] = [];

/** Records the batch's messages; called by the test worker's queue handler for every batch. */
export function recordDeliveries(batch: MessageBatch): void {
  for (const message of batch.messages) {
    deliveries.push({
      messageId: message.id,
      attempts: message.attempts,
      body: message.body as SessionEventBody,
    });
  }
}

/** The deliveries of `app`'s events. */
export function deliveriesOf(app: string): Delivery[] {
  return deliveries.filter((d) => d.body?.app === app);
}

/** The event bodies delivered for `app`, in arrival order, each delivery once. */
export function eventsOf(app: string): SessionEventBody[] {
  return deliveriesOf(app).map((d) => d.body);
}

/**
 * What the deliveries of `app` show delivered more than once, by event id:
 * - `redelivered`: the same message again (the Queue's own retry): explained by at-least-once;
 * - `resent`: the same event (equal body) in another message, as the outbox sends it again after
 *   a crash between the send and its delete: explained only where the test caused such a crash;
 * - `twice`: one session's begin or end with two different bodies: never explained, a session
 *   began or ended twice.
 */
export function repeatsOf(app: string): {
  redelivered: string[];
  resent: string[];
  twice: string[];
} {
  const byId = new Map<string, Delivery[]>();
  for (const d of deliveriesOf(app)) byId.set(d.body.id, [...(byId.get(d.body.id) ?? []), d]);
  const redelivered: string[] = [];
  const resent: string[] = [];
  const twice: string[] = [];
  for (const [id, all] of byId) {
    if (all.length === 1) continue;
    const bodies = new Set(all.map((d) => JSON.stringify(d.body)));
    const messages = new Set(all.map((d) => d.messageId));
    if (bodies.size > 1) twice.push(id);
    else if (messages.size > 1) resent.push(id);
    else redelivered.push(id);
  }
  return { redelivered, resent, twice };
}
