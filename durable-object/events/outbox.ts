import type { SessionEventBody } from "../../src/core/events.js";
import { outboxRows } from "../storage/rows.js";
import type { SqlStore } from "../storage/sql-store.js";

/** Queue limits: 100 messages and 256 KB a batch; 128 KB a message. Keep a margin for framing. */
export const MAX_BATCH_MESSAGES = 100;
export const MAX_BATCH_BYTES = 250_000;
export const MAX_MESSAGE_BYTES = 120_000;

const encoder = new TextEncoder();

/** Delivers one batch of events; rejects when they were not accepted. */
export type SendBatch = (events: SessionEventBody[]) => Promise<void>;

/**
 * Events waiting for the Queue. They are written in the same transaction as the change that
 * caused them and deleted only after the Queue accepted them, so a crash or a failed send never
 * loses one; a retry may send one twice, with the same `id`.
 */
export class Outbox {
  readonly #store: SqlStore;
  readonly #send: SendBatch | undefined;
  #flushing: Promise<number> | undefined;

  /** `send` delivers one batch (a Queue's `sendBatch`); without it, no event is kept. */
  constructor(store: SqlStore, send: SendBatch | undefined) {
    this.#store = store;
    this.#send = send;
  }

  /**
   * Adds events; call inside the transaction of the change. Each event is made once, by the
   * transaction that causes it, so the table needs no unique index (one row written, not three).
   */
  add(events: SessionEventBody[]): void {
    if (this.#send === undefined) return;
    for (const event of events) {
      outboxRows.add(this.#store, event.id, serialize(event));
    }
  }

  /** Whether any event waits (reads at most one row). */
  hasPending(): boolean {
    if (this.#send === undefined) return false;
    return outboxRows.any(this.#store);
  }

  /** How many events wait. */
  pending(): number {
    return outboxRows.count(this.#store);
  }

  /**
   * Sends every waiting event to the Queue in batches and deletes each batch once accepted.
   * Returns how many were sent; rejects (keeping the rest) when a send fails. Concurrent calls
   * share one flush, so no batch goes out twice at once.
   */
  flush(): Promise<number> {
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<number> {
    const send = this.#send;
    if (send === undefined) return 0;
    let sent = 0;
    for (;;) {
      const rows = outboxRows.first(this.#store, MAX_BATCH_MESSAGES);
      if (rows.length === 0) return sent;
      const batch: typeof rows = [];
      let bytes = 0;
      for (const row of rows) {
        const size = encoder.encode(row.body).byteLength;
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        batch.push(row);
        bytes += size;
      }
      await send(batch.map((row) => JSON.parse(row.body) as SessionEventBody));
      const first = batch[0]?.seq ?? 0;
      const last = batch.at(-1)?.seq ?? 0;
      outboxRows.remove(this.#store, first, last);
      sent += batch.length;
    }
  }
}

/** The event as JSON; an end event too large for one Queue message goes without its data. */
function serialize(event: SessionEventBody): string {
  const body = JSON.stringify(event);
  if (encoder.encode(body).byteLength <= MAX_MESSAGE_BYTES) return body;
  const { data: _omitted, ...rest } = event;
  return JSON.stringify({ ...rest, dataOmitted: true });
}
