import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { unwrap } from "../../src/index";
import { testClock } from "./clock";
import { create, manager, T0, WAIT } from "./helpers";
import { flakyQueue, resetFlakyQueue } from "./main";

beforeEach(() => {
  testClock.now = T0;
  resetFlakyQueue();
});

/** Waits until the object has tried `n` sends in all (the background send after a change). */
async function sendsTried(n: number): Promise<void> {
  await vi.waitUntil(() => flakyQueue.attempted.length >= n, WAIT);
}

describe("the event outbox", () => {
  it("keeps events while the Queue fails and sends them once it recovers, ids unchanged", async () => {
    const app = "outbox-recover";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { beginEvents: true }));
    flakyQueue.failuresLeft = 1000;
    const stored = await create(stub, app, "k", { cart: [1, 2] });
    await sendsTried(1);
    expect(unwrap(await stub.invalidate(app, "k"))).toBe(true);
    await sendsTried(2);
    expect(flakyQueue.accepted).toEqual([]);
    expect(unwrap(await stub.stats(app)).pendingEvents).toBe(2);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();

    flakyQueue.failuresLeft = 0;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(flakyQueue.accepted.map((e) => [e.id, e.type])).toEqual([
      [`${stored.sid}:begin`, "begin"],
      [`${stored.sid}:end`, "end"],
    ]);
    expect(flakyQueue.accepted[1]).toMatchObject({
      app,
      key: "k",
      reason: "invalidated",
      created: T0,
      lastModified: T0,
      at: T0,
      data: { cart: [1, 2] },
    });
    expect(unwrap(await stub.stats(app)).pendingEvents).toBe(0);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
  });

  it("sends events right after the change when the Queue accepts them", async () => {
    const app = "outbox-direct";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app));
    await create(stub, app, "k");
    unwrap(await stub.invalidate(app, "k"));
    await vi.waitFor(() => expect(flakyQueue.accepted).toHaveLength(1), WAIT);
    expect(flakyQueue.accepted[0]).toMatchObject({ type: "end", reason: "invalidated" });
  });

  it("an alarm whose sends keep failing throws for the runtime's retries, then re-arms itself", async () => {
    const app = "outbox-retries";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app));
    flakyQueue.failuresLeft = 1000;
    await create(stub, app, "k");
    unwrap(await stub.invalidate(app, "k"));
    await sendsTried(1);
    const run = (retryCount: number) =>
      runInDurableObject(stub, async (instance: DurableObject) => {
        try {
          await instance.alarm?.({
            retryCount,
            isRetry: retryCount > 0,
            scheduledTime: Date.now(),
          });
          return "returned";
        } catch {
          return "threw";
        }
      });
    expect(await run(0)).toBe("threw");
    expect(await run(2)).toBe("threw");
    expect(await run(3)).toBe("returned");
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now());
    expect(unwrap(await stub.stats(app)).pendingEvents).toBe(1);

    flakyQueue.failuresLeft = 0;
    await runDurableObjectAlarm(stub);
    expect(flakyQueue.accepted.map((e) => e.type)).toEqual(["end"]);
  });

  it("gives in-process hooks begin and end events, and the Queue only end events by default", async () => {
    const app = "outbox-hooks";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app));
    await create(stub, app, "k");
    unwrap(await stub.invalidate(app, "k"));
    await vi.waitFor(() => expect(flakyQueue.accepted).toHaveLength(1), WAIT);
    expect(flakyQueue.hooked.map((e) => e.type)).toEqual(["begin", "end"]);
    expect(flakyQueue.accepted.map((e) => e.type)).toEqual(["end"]);
  });

  it("writes no event for a refused commit", async () => {
    const app = "outbox-conflict";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { beginEvents: true }));
    flakyQueue.failuresLeft = 1000;
    const stored = await create(stub, app, "k", { x: 0 });
    await sendsTried(1);
    unwrap(await stub.commit(app, { key: "k", sid: stored.sid, version: 1, set: { x: 1 } }));
    const refused = await stub.commit(app, {
      key: "k",
      sid: stored.sid,
      version: 1,
      invalidate: false,
      set: { x: 2 },
    });
    expect(refused.ok).toBe(false);
    expect(unwrap(await stub.stats(app)).pendingEvents).toBe(1); // the begin event only
  });

  it("sends an end event too large for one Queue message without its data", async () => {
    const app = "outbox-large";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { maxSessionBytes: 1024 * 1024 }));
    await create(stub, app, "k", { blob: "x".repeat(200_000) });
    unwrap(await stub.invalidate(app, "k"));
    await vi.waitFor(() => expect(flakyQueue.accepted).toHaveLength(1), WAIT);
    expect(flakyQueue.accepted[0]).toMatchObject({ type: "end", key: "k", dataOmitted: true });
    expect(flakyQueue.accepted[0]?.data).toBeUndefined();
  });
});
