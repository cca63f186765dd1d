// Helpers of the tests of deleting an app (test/workers/delete-app*.test.ts).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { deliveries } from "./deliveries";
import { WAIT } from "./helpers";

/**
 * What an object's storage holds, read from inside it without waking its parts: its tables, its
 * alarm and the deletion's record.
 */
export async function storageOf(stub: DurableObjectStub): Promise<{
  tables: string[];
  alarm: number | null;
  record: unknown;
}> {
  return runInDurableObject(stub, async (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name NOT LIKE '_cf_%'")
      .toArray()
      .map((row) => row.name),
    alarm: await state.storage.getAlarm(),
    record: state.storage.kv.get("deletion"),
  }));
}

let markers = 0;

/**
 * Waits until every event sent so far has reached the Queue consumer: a marker sent after them
 * has been delivered (the Queue delivers in the order it was sent to). For a deleted app, whose
 * objects must not be asked for their stats (that would wake them up again).
 */
export async function eventsDelivered(): Promise<void> {
  const marker = `deleted-${++markers}`;
  await env.SESSION_EVENTS.send({ marker });
  await vi.waitUntil(
    () => deliveries.some((d) => (d.body as unknown as { marker?: string }).marker === marker),
    WAIT,
  );
}
