/**
 * Faults the platform really has: objects aborted in the middle of commits and of a sweep,
 * evicted between batches, Queue sends interrupted. Each test first shows that its fault landed
 * where its name says (or fails). After each: every acknowledged commit is stored, every stored
 * session has exactly one begin and gets exactly one end (counted where the real Queue delivers
 * them), and event ids never change between retries.
 */
import {
  abortAllDurableObjects,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type SessionEventBody, unwrap } from "../../src/index";
import { testClock } from "./clock";
import { repeatsOf } from "./deliveries";
import { create, createMany, keys, manager, settleEvents, T0, WAIT } from "./helpers";
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

/** Ids accepted by the Queue, each with how often it was accepted. */
function acceptedIds(): Map<string, number> {
  const ids = new Map<string, number>();
  for (const e of flakyQueue.accepted) ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
  return ids;
}

/** Runs the alarm until it has nothing left to do (bounded). */
async function drain(app: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const stub = manager(app, env.FLAKY_MANAGER);
    await stub.stats(app);
    if (!(await runDurableObjectAlarm(stub))) return;
  }
}

describe("faults", () => {
  it("an abort during a burst of commits loses no acknowledged commit, and begins stay unique", async () => {
    const app = "fault-commits";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { beginEvents: true, timeout: 60, period: 20 }));
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    const results = keys.map((key, i) =>
      stub.commit(app, { key, sid: null, version: 0, set: { i } }).then(
        (r) => ({ key, ok: r.ok }),
        () => ({ key, ok: false }),
      ),
    );
    await Promise.race(results);
    await abortAllDurableObjects();
    const outcomes = await Promise.all(results);
    const acknowledged = outcomes.filter((o) => o.ok).map((o) => o.key);
    // The abort landed while commits were in flight: some were answered, some never were.
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.length).toBeLessThan(keys.length);

    const after = manager(app, env.FLAKY_MANAGER);
    for (const key of acknowledged) {
      expect(unwrap(await after.query(app, key))?.data).toEqual({ i: keys.indexOf(key) });
    }
    const stored = unwrap(await after.stats(app)).sessions;
    // Everything expires; every stored session gets exactly one begin and one end, once each.
    testClock.now = T0 + 1000;
    await drain(app);
    const ids = acceptedIds();
    const begins = [...ids.keys()].filter((id) => id.endsWith(":begin"));
    const ends = [...ids.keys()].filter((id) => id.endsWith(":end"));
    expect(begins).toHaveLength(stored);
    expect(ends.map((id) => id.replace(/:end$/, "")).sort()).toEqual(
      begins.map((id) => id.replace(/:begin$/, "")).sort(),
    );
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    // Where the Queue delivers them: each once, none a second time.
    await settleEvents(app, [manager(app, env.FLAKY_MANAGER)]);
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
  });

  it("an abort while the sweep sends its first batch keeps the batch's events, with the same ids", async () => {
    const app = "fault-sweep";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    const created = new Set<string>();
    for (const s of await createMany(stub, app, keys("s", 600))) created.add(s.sid as string);
    testClock.now = T0 + 1000;

    let release = () => {};
    flakyQueue.hold = new Promise((resolve) => {
      release = resolve;
    });
    const alarm = runDurableObjectAlarm(stub).catch(() => "aborted");
    await vi.waitUntil(() => flakyQueue.attempted.length > 0, WAIT);
    const interrupted = (flakyQueue.attempted[0] as SessionEventBody[]).map((e) => e.id);
    // The alarm waits in its first send: the first batch of 500 has ended, the second not.
    const during = unwrap(await stub.stats(app));
    expect(during.sessions).toBe(100);
    expect(during.pendingEvents).toBe(500);
    await abortAllDurableObjects();
    release();
    flakyQueue.hold = undefined;
    await alarm;

    // The object comes back, re-arms, and finishes: every session ends once, ids unchanged.
    await drain(app);
    expect(unwrap(await manager(app, env.FLAKY_MANAGER).stats(app)).sessions).toBe(0);
    const ids = acceptedIds();
    expect([...ids.keys()].sort()).toEqual([...created].map((sid) => `${sid}:end`).sort());
    expect(interrupted).toHaveLength(100);
    for (const id of interrupted) expect(ids.has(id)).toBe(true);
    // At the consumer: every session ended once. The interrupted batch may come twice, equal in
    // every field (sent, then aborted before its delete): that is at-least-once, not a second end.
    await settleEvents(app, [manager(app, env.FLAKY_MANAGER)]);
    const repeats = repeatsOf(app);
    expect(repeats.twice).toEqual([]);
    for (const id of repeats.resent) expect(interrupted).toContain(id);
  });

  it("an eviction between sweep batches resumes where it stopped", async () => {
    const app = "fault-evict";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await createMany(stub, app, keys("e", 1200)); // three batches of at most 500
    testClock.now = T0 + 1000;
    // The send after the first batch fails, so the run stops there: its events wait in the outbox.
    flakyQueue.failuresLeft = 1;
    await runDurableObjectAlarm(stub).catch(() => undefined);
    const stopped = unwrap(await stub.stats(app));
    expect(stopped.sessions).toBe(700); // after the first batch, before the last
    expect(stopped.pendingEvents).toBe(500);
    expect(flakyQueue.accepted).toEqual([]);
    await evictDurableObject(stub); // rejects unless the object was running
    await drain(app);
    const ids = acceptedIds();
    expect(ids.size).toBe(1200);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    const attempted = new Set(flakyQueue.attempted.flat().map((e) => e.id));
    expect(attempted).toEqual(new Set(ids.keys()));
    await settleEvents(app, [manager(app, env.FLAKY_MANAGER)]);
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
  });

  it("an object with due work and no alarm sets one again when it starts", async () => {
    const app = "fault-rearm";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "k");
    // Lose the alarm, as if its retries had run out, then restart the object.
    await runInDurableObject(stub, (_i, state) => state.storage.deleteAlarm());
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    await abortAllDurableObjects();
    const again = manager(app, env.FLAKY_MANAGER);
    await again.has(app, "k");
    const alarm = await runInDurableObject(again, (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
  });
});
