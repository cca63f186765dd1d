// Session events on the Queue (docs/DESIGN.md#events): the example consumer, and events travelling from an HTTP
// call through the Durable Object's outbox and the Queue to the worker's queue handler.
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SessionEventBody } from "../../src/index";
import worker from "../../worker/index";
import { T0, testClock } from "./clock";
import { eventsOf, repeatsOf } from "./deliveries";
import { call, manager, settleEvents, WAIT } from "./helpers";

const NOW = T0;
const QUEUE = "edge-sessions-events";

beforeEach(() => {
  testClock.now = NOW;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The events of `app` the real Queue delivered, once every event its object wrote has arrived:
 * all of them, so a test that compares them with what it expects also fails on an extra one.
 */
async function delivered(app: string): Promise<SessionEventBody[]> {
  await settleEvents(app, [manager(app)]);
  return eventsOf(app);
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
    const spy = vi.spyOn(worker, "queue");
    await env.SESSION_EVENTS.send({ ...begin, app: "queue-direct" });
    await vi.waitUntil(() => eventsOf("queue-direct").length > 0, WAIT);
    expect(eventsOf("queue-direct")).toEqual([{ ...begin, app: "queue-direct" }]);
    const handled = spy.mock.calls.flatMap(([batch]) => batch.messages.map((m) => m.body));
    expect(handled).toContainEqual({ ...begin, app: "queue-direct" });
  });
});

describe("session events from the HTTP API to the consumer", () => {
  it("delivers the end event of a session invalidated over HTTP, with its data", async () => {
    const app = "queue-invalidated";
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { cart: ["apple"] },
    });
    const session = (await created.json()) as { sid: string };
    testClock.now = NOW + 30;
    expect((await call("DELETE", `/v1/apps/${app}/sessions/abc`)).status).toBe(204);

    expect(await delivered(app)).toEqual([
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
    expect(await delivered(app)).toEqual([
      expect.objectContaining({ id: `${session.sid}:end`, reason: "invalidated", data: { a: 1 } }),
    ]);
  });

  it("delivers the end event of a session found expired by a GET, with reason expired", async () => {
    const app = "queue-expired";
    await call("PUT", `/v1/apps/${app}`, { timeout: 60, period: 10 });
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { a: 1 },
    });
    const session = (await created.json()) as { sid: string };
    testClock.now = NOW + 100;
    expect((await call("GET", `/v1/apps/${app}/sessions/abc`)).status).toBe(404);
    expect(await delivered(app)).toEqual([
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
    const app = "queue-begin";
    await call("PUT", `/v1/apps/${app}`, { beginEvents: true });
    const created = await call("PATCH", `/v1/apps/${app}/sessions/abc`, {
      version: 0,
      set: { a: 1 },
    });
    const session = (await created.json()) as { sid: string };
    expect(await delivered(app)).toEqual([
      {
        id: `${session.sid}:begin`,
        type: "begin",
        app,
        key: "abc",
        created: NOW,
        lastModified: NOW,
        at: NOW,
      },
    ]);
  });
});

describe("one begin and one end per session, counted where the Queue delivers them", () => {
  it("delivers each session's begin and end exactly once, however it ended, races included", async () => {
    const app = "queue-once";
    await call("PUT", `/v1/apps/${app}`, { beginEvents: true, timeout: 60, period: 10 });
    const sids = new Map<string, string>();
    const store = async (key: string) => {
      const res = await call("PATCH", `/v1/apps/${app}/sessions/${key}`, {
        version: 0,
        set: { key },
      });
      expect(res.status).toBe(200);
      sids.set(key, ((await res.json()) as { sid: string }).sid);
      return sids.get(key) as string;
    };
    for (const key of ["deleted", "patched", "raced", "rotated", "read-late", "swept"]) {
      await store(key);
    }
    expect((await call("DELETE", `/v1/apps/${app}/sessions/deleted`)).status).toBe(204);
    const patched = { version: 1, sid: sids.get("patched"), invalidate: true };
    expect((await call("PATCH", `/v1/apps/${app}/sessions/patched`, patched)).status).toBe(200);
    // Three invalidations of one session at once: one ends it, the others find it ended.
    const raced = { version: 1, sid: sids.get("raced"), invalidate: true };
    const racing = await Promise.all([
      call("DELETE", `/v1/apps/${app}/sessions/raced`),
      call("DELETE", `/v1/apps/${app}/sessions/raced`),
      call("PATCH", `/v1/apps/${app}/sessions/raced`, raced),
    ]);
    // Whichever came first ended it (204, or 200 for the PATCH); the others found no session
    // (404) or an ended one (409).
    const statuses = racing.map((r) => r.status);
    expect(statuses.filter((status) => status === 200 || status === 204)).toHaveLength(1);
    expect(statuses.filter((status) => status === 404 || status === 409)).toHaveLength(2);
    // Rotation: the old session ends (regenerated), a new one begins at the new key.
    const rotated = await call("POST", `/v1/apps/${app}/sessions/rotated/regenerate`, {
      newKey: "rotated-2",
    });
    expect(rotated.status).toBe(200);
    sids.set("rotated-2", ((await rotated.json()) as { sid: string }).sid);
    // Expiry: one ends on a read, the rest (rotated-2 included) by the alarm.
    testClock.now = NOW + 100;
    expect((await call("GET", `/v1/apps/${app}/sessions/read-late`)).status).toBe(404);
    expect(await runDurableObjectAlarm(manager(app))).toBe(true);

    const events = await delivered(app);
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
    expect(events).toHaveLength(2 * sids.size);
    for (const [key, sid] of sids) {
      expect(
        events.filter((e) => e.id === `${sid}:begin`),
        `begins of ${key}`,
      ).toHaveLength(1);
      expect(
        events.filter((e) => e.id === `${sid}:end`),
        `ends of ${key}`,
      ).toHaveLength(1);
    }
    const reasons = Object.fromEntries(
      events.filter((e) => e.type === "end").map((e) => [e.key, e.reason]),
    );
    expect(reasons).toEqual({
      deleted: "invalidated",
      patched: "invalidated",
      raced: "invalidated",
      rotated: "regenerated",
      "rotated-2": "expired",
      "read-late": "expired",
      swept: "expired",
    });
  });
});
