// The worker the soak runs in workerd: the bench worker (the real worker and session manager,
// with a clock the soak moves) plus an event log that the real Queue consumer fills, so the soak
// can check which events were delivered. Soak only: never deploy it.
import { DurableObject } from "cloudflare:workers";
import bench from "../bench/worker";
import type { SessionEventBody } from "../src/core/events";

export * from "../bench/worker";

type Env = Cloudflare.Env & { EVENT_LOG: DurableObjectNamespace };

/** One delivery of one message by the Queue: its id, the Queue's attempt count, the event. */
export interface SoakDelivery {
  messageId: string;
  attempts: number;
  body: SessionEventBody;
}

/** The event log's RPC surface (typed plainly: JSON data makes the RPC types too deep). */
interface EventLogRpc {
  record(deliveries: SoakDelivery[]): Promise<void>;
  all(): Promise<SoakDelivery[]>;
}

function eventLog(env: Env): EventLogRpc {
  return env.EVENT_LOG.getByName("log") as unknown as EventLogRpc;
}

/**
 * Every delivery the Queue made, in arrival order, with its message id and attempt count
 * (duplicates kept: the soak tells a redelivery from a second event, soak/invariants.ts).
 */
export class EventLog extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS deliveries (n INTEGER PRIMARY KEY AUTOINCREMENT, delivery TEXT NOT NULL)",
    );
  }

  record(deliveries: SoakDelivery[]): void {
    for (const delivery of deliveries) {
      this.ctx.storage.sql.exec(
        "INSERT INTO deliveries (delivery) VALUES (?)",
        JSON.stringify(delivery),
      );
    }
  }

  all(): SoakDelivery[] {
    return this.ctx.storage.sql
      .exec<{ delivery: string }>("SELECT delivery FROM deliveries ORDER BY n")
      .toArray()
      .map((row) => JSON.parse(row.delivery) as SoakDelivery);
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/soak/events") {
      if (request.headers.get("Authorization") !== `Bearer ${env.SESSIONS_API_TOKEN}`) {
        return new Response("unauthorized", { status: 401 });
      }
      return Response.json(await eventLog(env).all());
    }
    return bench.fetch(request, env, ctx);
  },
  async queue(batch, env) {
    await eventLog(env).record(
      batch.messages.map((m) => ({
        messageId: m.id,
        attempts: m.attempts,
        body: m.body as SessionEventBody,
      })),
    );
    batch.ackAll();
  },
} satisfies ExportedHandler<Env>;
