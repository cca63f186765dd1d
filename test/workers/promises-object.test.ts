/**
 * Promises of the object that had no test of their own: the outbox's batch limits
 * (docs/DESIGN.md#events), the Queue's retry delays and the sweep's bounds per transaction and
 * per alarm run (docs/DESIGN.md#sweep), settings stored by an older version, an object with no
 * events binding, and the session cache's size bound (docs/DESIGN.md#storage).
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import {
  nextAlarm,
  REARM_DELAY_MS,
  SWEEP_BATCHES_PER_ALARM,
} from "../../durable-object/alarm/alarm-policy";
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, Outbox } from "../../durable-object/events/outbox";
import { CACHE_BYTES, SessionCache } from "../../durable-object/storage/session-cache";
import { COLUMNS, SqlStore } from "../../durable-object/storage/sql-store";
import { DEFAULT_SWEEP_BATCH } from "../../src/core/engine";
import type { SessionEventBody } from "../../src/core/events";
import type { StoredSession } from "../../src/core/session-view";
import { resolveAppSettings } from "../../src/core/settings";
import { unwrap } from "../../src/index";
import { testClock } from "./clock";
import { create, manager, T0 } from "./helpers";
import { type FaultyStorageSessionManagerObject, storageFaults } from "./main";

beforeEach(() => {
  testClock.now = T0;
  storageFaults.failStatement = undefined;
  storageFaults.failTransaction = undefined;
  storageFaults.accepted.length = 0;
  storageFaults.hooked.length = 0;
});

const encoder = new TextEncoder();

/** An end event whose data holds `bytes` characters. */
function endEvent(i: number, bytes = 10): SessionEventBody {
  return {
    id: `sid${i}:end`,
    type: "end",
    app: "outbox",
    key: `k${i}`,
    reason: "expired",
    created: T0,
    lastModified: null,
    at: T0,
    data: { text: "x".repeat(bytes) },
  } as SessionEventBody;
}

/** Sends `events` through an outbox on the storage of a fresh object; the batches it sent. */
async function sent(name: string, events: SessionEventBody[]): Promise<SessionEventBody[][]> {
  const batches: SessionEventBody[][] = [];
  await runInDurableObject(manager(name), async (_instance, state) => {
    const store = new SqlStore(state.storage);
    const outbox = new Outbox(store, async (batch) => {
      batches.push(batch);
    });
    store.transaction(() => outbox.add(events));
    expect(await outbox.flush()).toBe(events.length);
    expect(outbox.pending()).toBe(0);
  });
  return batches;
}

describe("the outbox", () => {
  it("sends batches of at most 100 events, in order", async () => {
    const events = Array.from({ length: 250 }, (_, i) => endEvent(i));
    const batches = await sent("p-outbox-count", events);
    expect(MAX_BATCH_MESSAGES).toBe(100);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat().map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it("sends batches of at most 250,000 bytes", async () => {
    const events = Array.from({ length: 12 }, (_, i) => endEvent(i, 60_000));
    const batches = await sent("p-outbox-bytes", events);
    expect(MAX_BATCH_BYTES).toBe(250_000);
    for (const batch of batches) {
      const bytes = batch.reduce((n, e) => n + encoder.encode(JSON.stringify(e)).byteLength, 0);
      expect(bytes).toBeLessThanOrEqual(250_000);
    }
    // Four events of about 60 KB fit in 250,000 bytes, five do not.
    expect(batches.map((b) => b.length)).toEqual([4, 4, 4]);
  });
});

describe("the alarm's policy", () => {
  it("retries a failed send after 1 s, 5 s, 30 s, 2 min, then every 5 min", () => {
    const delays = [0, 1, 2, 3, 4, 5, 9].map(
      (sendFailures) =>
        nextAlarm({
          expiry: undefined,
          pendingEvents: true,
          sendFailures,
          reshardDue: Number.POSITIVE_INFINITY,
          metricsDue: Number.POSITIVE_INFINITY,
          inAlarm: false,
          now: 1_000_000,
        }) - 1_000_000,
    );
    expect(delays).toEqual([1_000, 5_000, 30_000, 120_000, 300_000, 300_000, 300_000]);
  });

  it("sweeps 500 sessions per transaction, 40 batches per alarm run, and re-arms at least 1 s ahead", async () => {
    expect(DEFAULT_SWEEP_BATCH).toBe(500);
    expect(SWEEP_BATCHES_PER_ALARM).toBe(40);
    expect(REARM_DELAY_MS).toBe(1_000);
    const app = "p-sweep-bounds";
    const stub = manager(app, env.FAULTY_STORAGE_MANAGER);
    // The object's clock near the real one, so that the alarm's re-arm is judged against it.
    testClock.now = Math.floor(Date.now() / 1000);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    const expired = 40 * 500 + 100;
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.transactionSync(() => {
        for (let i = 0; i < expired; i++) {
          state.storage.sql.exec(
            `INSERT INTO sessions (${COLUMNS}) VALUES (?, ?, 1, ?, NULL, ?, '{"n":1}', '{"n":1}', 0, NULL, NULL, NULL)`,
            `k${i}`,
            `sid${i}`,
            testClock.now - 1000,
            testClock.now - 1000,
          );
        }
      });
    });
    const limits: unknown[] = [];
    let transactions = 0;
    storageFaults.failStatement = (query, bindings) => {
      if (query.startsWith(`SELECT ${COLUMNS} FROM sessions WHERE slice_end <= ?`)) {
        limits.push(bindings[1]);
      }
      return false;
    };
    storageFaults.failTransaction = () => {
      transactions++;
      return false;
    };
    const before = Date.now();
    const typed = stub as unknown as DurableObjectStub<FaultyStorageSessionManagerObject>;
    const alarmAt = await runInDurableObject(typed, async (instance, state) => {
      await instance.alarm();
      const at = await state.storage.getAlarm();
      await state.storage.deleteAlarm(); // not to fire on its own
      return at;
    });
    storageFaults.failStatement = undefined;
    storageFaults.failTransaction = undefined;
    expect(limits).toEqual(Array(40).fill(500));
    expect(transactions).toBe(40);
    expect(storageFaults.accepted).toHaveLength(40 * 500);
    expect(unwrap(await stub.stats(app)).sessions).toBe(100);
    // Work is still due: the alarm comes back, no sooner than 1 s after the run.
    expect(alarmAt).not.toBeNull();
    expect(alarmAt as number).toBeGreaterThanOrEqual(before + 1_000);
  });
});

describe("the object's storage", () => {
  it("fills in the defaults of settings an older version stored without them", async () => {
    const app = "p-older";
    const stub = manager(app);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(
        "INSERT OR REPLACE INTO app (id, name, settings) VALUES (1, ?, ?)",
        app,
        JSON.stringify({ timeout: 300, period: 10 }),
      );
    });
    // The object starts again and reads the row as it is.
    const { evictDurableObject } = await import("cloudflare:test");
    await evictDurableObject(stub).catch(() => undefined);
    const settings = unwrap(await manager(app).open(app));
    expect(settings).toEqual(resolveAppSettings({ timeout: 300, period: 10 }));
    expect(Object.keys(settings).length).toBeGreaterThan(2);
  });

  it("keeps no event without an events binding", async () => {
    const app = "p-no-events";
    const stub = manager(app, env.NO_EVENTS_MANAGER);
    unwrap(await stub.open(app, { beginEvents: true, timeout: 60, period: 20 }));
    await create(stub, app, "a");
    await create(stub, app, "b");
    unwrap(await stub.invalidate(app, "a"));
    testClock.now = T0 + 1000;
    expect(unwrap(await stub.sweep(app))).toBe(1);
    expect(unwrap(await stub.stats(app)).pendingEvents).toBe(0);
    const rows = await runInDurableObject(stub, (_instance, state) => {
      return state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
    });
    expect(rows).toBe(0);
  });

  it("holds at most CACHE_BYTES of sessions in its cache, least recently used out first", () => {
    const cache = new SessionCache();
    const data = "x".repeat(100_000);
    const session = (i: number) => ({ key: `k${i}`, version: 1 }) as unknown as StoredSession;
    for (let i = 0; i < 100; i++) {
      cache.remember(session(i), data, 2, undefined);
      if (i >= 1) cache.use("k0"); // k0 stays the most recently used
    }
    const kept = Array.from({ length: 100 }, (_, i) => i).filter((i) => cache.peek(`k${i}`));
    const bytes = kept.length * 2 * (data.length + 2);
    expect(bytes).toBeLessThanOrEqual(CACHE_BYTES);
    expect(bytes + 2 * (data.length + 2)).toBeGreaterThan(CACHE_BYTES); // full, not emptier
    expect(kept).toContain(0);
    expect(kept.at(-1)).toBe(99);
    expect(kept.slice(1)).toEqual(kept.slice(1).map((_, j) => 100 - kept.length + 1 + j));
  });
});
