// The worker the soak runs in workerd: the bench worker (the real worker and session manager,
// with a clock the soak moves) plus an event log that the real Queue consumer fills, so the soak
// can check which events were delivered. Soak only: never deploy it.
import { DurableObject } from "cloudflare:workers";
import bench from "../bench/worker";
import type { SessionEventBody } from "../src/events";

export * from "../bench/worker";

type Env = Cloudflare.Env & { EVENT_LOG: DurableObjectNamespace };

/** The event log's RPC surface (typed plainly: JSON data makes the RPC types too deep). */
interface EventLogRpc {
  record(events: SessionEventBody[]): Promise<void>;
  all(): Promise<SessionEventBody[]>;
}

function eventLog(env: Env): EventLogRpc {
  return env.EVENT_LOG.getByName("log") as unknown as EventLogRpc;
}

/** Every event delivery the Queue made, in arrival order (duplicates kept: at-least-once). */
export class EventLog extends DurableObject {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS deliveries (n INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
    );
  }

  record(events: SessionEventBody[]): void {
    for (const event of events) {
      this.ctx.storage.sql.exec("INSERT INTO deliveries (body) VALUES (?)", JSON.stringify(event));
    }
  }

  all(): SessionEventBody[] {
    return this.ctx.storage.sql
      .exec<{ body: string }>("SELECT body FROM deliveries ORDER BY n")
      .toArray()
      .map((row) => JSON.parse(row.body) as SessionEventBody);
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
    await eventLog(env).record(batch.messages.map((m) => m.body as SessionEventBody));
    batch.ackAll();
  },
} satisfies ExportedHandler<Env>;
