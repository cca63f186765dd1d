// Placeholder worker so the toolchain works before the real one lands.
import { Hono } from "hono";

export { SessionManagerObject } from "../durable-objects/session-manager-object";

const app = new Hono<{ Bindings: Cloudflare.Env }>();

app.get("/healthz", (c) => c.json({ ok: true }));

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch): Promise<void> {
    batch.ackAll();
  },
} satisfies ExportedHandler<Cloudflare.Env>;
