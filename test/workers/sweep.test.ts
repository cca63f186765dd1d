import {
  abortAllDurableObjects,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expiresAt, sliceEnd } from "../../src/core/timeslice";
import { unwrap } from "../../src/index";
import { testClock } from "./clock";
import { create, createMany, keys, manager, T0, WAIT } from "./helpers";
import { flakyQueue, resetFlakyQueue } from "./main";

beforeEach(() => {
  testClock.now = T0;
  resetFlakyQueue();
  // The example consumer logs every event the Queue delivers: thousands here.
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function alarmAt(stub: DurableObjectStub): Promise<number | null> {
  return runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
}

describe("the alarm", () => {
  it("is not set while the object stores no session", async () => {
    const stub = manager("alarm-idle");
    unwrap(await stub.open("alarm-idle"));
    unwrap(await stub.get("alarm-idle", "k"));
    expect(await alarmAt(stub)).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });

  it("goes once the last session has ended and its events were sent", async () => {
    const app = "alarm-idle-again";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app));
    await create(stub, app, "k");
    expect(await alarmAt(stub)).not.toBeNull();
    unwrap(await stub.invalidate(app, "k"));
    await vi.waitFor(async () => expect(await alarmAt(stub)).toBeNull(), WAIT);
    expect(flakyQueue.accepted.map((e) => e.type)).toEqual(["end"]);
  });

  it("is set for the first moment a stored session can expire", async () => {
    const app = "alarm-armed";
    const stub = manager(app);
    // Expiring within a minute: before the counts of the commit are due to be saved.
    unwrap(await stub.open(app, { timeout: 30, period: 20 }));
    await create(stub, app, "k");
    const end = sliceEnd(20, T0);
    expect(await alarmAt(stub)).toBe(expiresAt(end, 30) * 1000);
    expect(unwrap(await stub.stats(app)).nextSweep).toBe(expiresAt(end, 30));
  });

  it("ends expired sessions, keeps live ones, and re-arms for them", async () => {
    const app = "alarm-sweep";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "old-1");
    await create(stub, app, "old-2");
    testClock.now = T0 + 40;
    await create(stub, app, "young");
    testClock.now = T0 + 80; // old: 80 > 60 since their slice; young: 40 <= 60
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Re-armed for "young", last accessed in the slice of T0 + 40.
    expect(await alarmAt(stub)).toBe(expiresAt(sliceEnd(20, T0 + 40), 60) * 1000);
    const stats = unwrap(await stub.stats(app));
    expect(stats.sessions).toBe(1);
    expect(unwrap(await stub.has(app, "young"))).toBe(true);
    const ends = flakyQueue.accepted.filter((e) => e.type === "end");
    expect(ends.map((e) => [e.key, e.reason]).sort()).toEqual([
      ["old-1", "expired"],
      ["old-2", "expired"],
    ]);
  });

  it("deletes itself once the last session has ended", async () => {
    const app = "alarm-last";
    const stub = manager(app);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "k");
    testClock.now = T0 + 200;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(unwrap(await stub.stats(app)).sessions).toBe(0);
    expect(await alarmAt(stub)).toBeNull();
  });

  it("is safe to run twice: a second run ends nothing more and sends no event again", async () => {
    const app = "alarm-twice";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "a");
    await create(stub, app, "b");
    testClock.now = T0 + 200;
    await runDurableObjectAlarm(stub);
    const sent = flakyQueue.accepted.length;
    expect(sent).toBe(2);
    await runInDurableObject(stub, (instance: DurableObject) =>
      instance.alarm?.({ retryCount: 1, isRetry: true, scheduledTime: Date.now() }),
    );
    expect(flakyQueue.accepted.length).toBe(sent);
  });

  it("survives eviction: the alarm stays set and sweeps with a fresh instance", async () => {
    const app = "alarm-evict";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "k", { kept: true });
    const armed = await alarmAt(stub);
    await evictDurableObject(stub);
    expect(await alarmAt(stub)).toBe(armed);
    testClock.now = T0 + 200;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(flakyQueue.accepted).toEqual([
      expect.objectContaining({ type: "end", key: "k", reason: "expired", data: { kept: true } }),
    ]);
  });

  it("survives an abort of every object", async () => {
    const app = "alarm-abort";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "k");
    await abortAllDurableObjects();
    testClock.now = T0 + 200;
    const again = manager(app, env.FLAKY_MANAGER);
    expect(await runDurableObjectAlarm(again)).toBe(true);
    expect(unwrap(await again.stats(app)).sessions).toBe(0);
    expect(flakyQueue.accepted.map((e) => e.key)).toEqual(["k"]);
  });

  it("works through many expired sessions in bounded batches", async () => {
    const app = "alarm-many";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await createMany(stub, app, keys("k", 1200));
    testClock.now = T0 + 200;
    await runDurableObjectAlarm(stub);
    expect(unwrap(await stub.stats(app)).sessions).toBe(0);
    const ids = flakyQueue.accepted.map((e) => e.id);
    expect(ids).toHaveLength(1200);
    expect(new Set(ids).size).toBe(1200);
  });
});

describe("sweep cost", () => {
  /** Rows the alarm read to end `expired` sessions while `live` others stay. */
  async function sweepRowsRead(app: string, expired: number, live: number): Promise<number> {
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    testClock.now = T0;
    await createMany(stub, app, keys("old", expired));
    testClock.now = T0 + 100;
    await createMany(stub, app, keys("live", live));
    const before = await stub.usage();
    await runDurableObjectAlarm(stub);
    const after = await stub.usage();
    expect(unwrap(await stub.stats(app)).sessions).toBe(live);
    return after.rowsRead - before.rowsRead;
  }

  it("reads rows in proportion to the expired sessions, not the live ones", async () => {
    const none = await sweepRowsRead("cost-no-live", 20, 0);
    const many = await sweepRowsRead("cost-many-live", 20, 400);
    // The index scan stops at the first live row: at most one row more, however many are live.
    expect(many - none).toBeGreaterThanOrEqual(0);
    expect(many - none).toBeLessThanOrEqual(1);
    const twice = await sweepRowsRead("cost-twice-expired", 40, 0);
    expect(twice).toBeGreaterThan(none);
  });
});
