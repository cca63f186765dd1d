import {
  type AnalyticsEnv,
  DATASET_BINDING,
  type EventFigures,
  eventPoint,
} from "./analytics/points";

/**
 * An example consumer of session events (`{ id, type, app, key, reason?, … data? }` on the
 * `edge-sessions-events` Queue): it logs each event's id, type, app and reason, never the key
 * (often a cookie value) nor the data, and acks the batch; with a `SESSION_METRICS` Analytics
 * Engine dataset bound, it also writes one data point per event (`eventPoint`). Events arrive at
 * least once; drop duplicates by `id`. Replace it with your own: archive ended carts, count
 * logins, …
 *
 * @example
 * export default { fetch: app.fetch, queue: logSessionEvents };
 */
export async function logSessionEvents(batch: MessageBatch, env?: AnalyticsEnv): Promise<void> {
  const dataset = env?.[DATASET_BINDING];
  for (const message of batch.messages) {
    const event = message.body as { id?: unknown; type?: unknown; app?: unknown; reason?: unknown };
    if (typeof event?.id === "string" && (event.type === "begin" || event.type === "end")) {
      const reason = typeof event.reason === "string" ? ` (${event.reason})` : "";
      console.log(`session ${event.type}${reason}: app ${String(event.app)}, event ${event.id}`);
      dataset?.writeDataPoint(eventPoint(event as EventFigures));
    } else {
      // Not ours: acked anyway, since redelivering it would not make it readable.
      console.log(`ignored a message that is not a session event (message ${message.id})`);
    }
  }
  batch.ackAll();
}
