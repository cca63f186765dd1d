import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";

describe("toolchain smoke test (workerd)", () => {
  it("serves /healthz from the worker", async () => {
    const res = await exports.default.fetch("https://example.com/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("exposes the secret binding from the test config", () => {
    expect(env.SESSIONS_API_TOKEN).toBe("test-token");
  });

  it("calls the Durable Object over RPC", async () => {
    const stub = env.SESSION_MANAGER.getByName("smoke");
    expect(await stub.ping()).toBe("pong");
  });

  it("runs SQL inside the Durable Object", async () => {
    const stub = env.SESSION_MANAGER.getByName("smoke-sql");
    const rows = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ one: number }>("select 1 as one").toArray(),
    );
    expect(rows).toEqual([{ one: 1 }]);
  });

  it("acks a queue batch (consumer called directly)", async () => {
    const batch = createMessageBatch("edge-sessions-events", [
      { id: "m1", timestamp: new Date(1000), attempts: 1, body: { type: "smoke" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
  });

  it("delivers produced messages to the consumer", async () => {
    const spy = vi.spyOn(worker, "queue");
    try {
      await env.SESSION_EVENTS.send({ type: "smoke-e2e" });
      await vi.waitUntil(() => spy.mock.calls.length > 0, { timeout: 5000 });
      const batch = spy.mock.calls[0]?.[0];
      expect(batch?.queue).toBe("edge-sessions-events");
      expect(batch?.messages.map((m) => m.body)).toEqual([{ type: "smoke-e2e" }]);
    } finally {
      spy.mockRestore();
    }
  });
});
