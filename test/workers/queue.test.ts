// Session events on the Queue (docs/DESIGN.md#events): the example consumer, and events travelling from an HTTP
// call through the Durable Object's outbox and the Queue to the worker's queue handler.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionEventBody } from "../../src/index";
import worker from "../../worker/index";
import { testClock } from "./clock";
import { call } from "./helpers";

const NOW = testClock.now;
const QUEUE = "edge-sessions-events";

afterEach(() => {
  vi.restoreAllMocks();
  testClock.now = NOW;
});

/** Watches the worker's queue handler; `events(app)` waits for the events of `app` to arrive. */
function watchQueue() {
  const spy = vi.spyOn(worker, "queue");
  const received = (app: string) =>
    spy.mock.calls
      .flatMap(([batch]) => batch.messages.map((m) => m.body as SessionEventBody))
      .filter((event) => event.app === app);
  return {
    async events(app: string, count = 1): Promise<SessionEventBody[]> {
      await vi.waitUntil(() => received(app).length >= count, { timeout: 5000 });
      return received(app);
    },
  };
}

describe("the example consumer", () => {
  const begin: SessionEventBody = {
    id: "sid-1:begin",
    type: "begin",
    app: "shop",
    key: "cookie-value-1",
    created: 1,
    lastModified: 1,
    at: 1,
  };
  const end: SessionEventBody = {
    ...begin,
    id: "sid-1:end",
    type: "end",
    reason: "invalidated",
    at: 2,
    data: { card: "4111-secret" },
  };

  it("acks the whole batch", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const batch = createMessageBatch(QUEUE, [
      { id: "m1", timestamp: new Date(1000), attempts: 1, body: begin },
      { id: "m2", timestamp: new Date(1000), attempts: 1, body: end },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    expect(result.retryBatch.retry).toBe(false);
    expect(result.retryMessages).toEqual([]);
  });

  it("logs each event's id and type, and never its key or data", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const batch = createMessageBatch(QUEUE, [
      { id: "m1", timestamp: new Date(1000), attempts: 1, body: begin },
      { id: "m2", timestamp: new Date(1000), attempts: 1, body: end },
    ]);
    await worker.queue(batch);
    const lines = log.mock.calls.map((args) => args.join(" "));
    expect(lines).toEqual([
      expect.stringMatching(/^session begin: .*sid-1:begin/),
      expect.stringMatching(/^session end \(invalidated\): .*sid-1:end/),
    ]);
    for (const line of lines) {
      expect(line).not.toContain("cookie-value-1");
      expect(line).not.toContain("4111-secret");
    }
  });

  it("acks a message that is not a session event, logging only its message id", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const batch = createMessageBatch(QUEUE, [
      { id: "m-odd", timestamp: new Date(1000), attempts: 1, body: { secret: "hush" } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    expect(log.mock.calls.map((args) => args.join(" "))).toEqual([
      expect.stringContaining("m-odd"),
    ]);
    expect(JSON.stringify(log.mock.calls)).not.toContain("hush");
  });

  it("receives what is sent to the SESSION_EVENTS Queue", async () => {
    const queue = watchQueue();
    await env.SESSION_EVENTS.send({ ...begin, app: "queue-direct" });
    expect(await queue.events("queue-direct")).toEqual([{ ...begin, app: "queue-direct" }]);
  });
});

describe("session events from the HTTP API to the consumer", () => {
  it("delivers the end event of a session invalidated over HTTP, with its data", async () => {
    const queue = watchQueue();
    const app = "queue-invalidated";
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { cart: ["apple"] },
    });
    const session = (await created.json()) as { sid: string };
    testClock.now = NOW + 30;
    expect((await call("DELETE", `/v1/apps/${app}/sessions/abc`)).status).toBe(204);

    expect(await queue.events(app)).toEqual([
      {
        id: `${session.sid}:end`,
        type: "end",
        app,
        key: "abc",
        reason: "invalidated",
        created: NOW,
        lastModified: NOW,
        at: NOW + 30,
        data: { cart: ["apple"] },
      },
    ]);
  });

  it("delivers the end event of a session invalidated by a PATCH", async () => {
    const queue = watchQueue();
    const app = "queue-patch-invalidated";
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { a: 1 },
    });
    const session = (await created.json()) as { sid: string };
    await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 1,
      sid: session.sid,
      invalidate: true,
    });
    expect(await queue.events(app)).toEqual([
      expect.objectContaining({ id: `${session.sid}:end`, reason: "invalidated", data: { a: 1 } }),
    ]);
  });

  it("delivers the end event of a session found expired by a GET, with reason expired", async () => {
    const queue = watchQueue();
    const app = "queue-expired";
    await call("PUT", `/v1/apps/${app}`, { timeout: 60, period: 10 });
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { a: 1 },
    });
    const session = (await created.json()) as { sid: string };
    testClock.now = NOW + 100;
    expect((await call("GET", `/v1/apps/${app}/sessions/abc`)).status).toBe(404);
    expect(await queue.events(app)).toEqual([
      expect.objectContaining({
        id: `${session.sid}:end`,
        type: "end",
        key: "abc",
        reason: "expired",
        at: NOW + 100,
      }),
    ]);
  });

  it("delivers a begin event, without data, for an app configured with beginEvents", async () => {
    const queue = watchQueue();
    const app = "queue-begin";
    await call("PUT", `/v1/apps/${app}`, { beginEvents: true });
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { a: 1 },
    });
    const session = (await created.json()) as { sid: string };
    const [event] = await queue.events(app);
    expect(event).toEqual({
      id: `${session.sid}:begin`,
      type: "begin",
      app,
      key: "abc",
      created: NOW,
      lastModified: NOW,
      at: NOW,
    });
  });
});
