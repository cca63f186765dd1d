// Deleting an app (docs/DESIGN.md#deleting-an-app), on the Durable Object: every session ends with
// one end event, the events are sent before anything is freed, the storage is freed, the name can
// be used again, and a crash in the middle loses nothing.
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { nextAlarm, REARM_DELAY_MS } from "../../durable-object/alarm/alarm-policy";
import { type AppDeletion, unwrap } from "../../src/index";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { eventsDelivered, storageOf } from "./deletion";
import { eventsOf, repeatsOf } from "./deliveries";
import { create, createMany, keys, manager, T0, WAIT } from "./helpers";
import { flakyQueue, resetFlakyQueue } from "./main";

beforeEach(() => {
  testClock.now = T0;
  resetFlakyQueue();
});

/** Calls `deleteApp` and runs the alarm in turn until the app is deleted (bounded). */
async function deleteFully(
  app: string,
  stub: () => SessionObjectRpc & DurableObjectStub,
): Promise<AppDeletion[]> {
  const answers: AppDeletion[] = [];
  for (let i = 0; i < 20; i++) {
    const answer = unwrap(await stub().deleteApp(app));
    answers.push(answer);
    if (answer.deleted) return answers;
    await runDurableObjectAlarm(stub());
  }
  throw new Error(`app ${app} not deleted after 20 rounds`);
}

describe("the alarm of a deletion", () => {
  it("comes a second after each step, but waits with the back-off while the Queue refuses", () => {
    const state = {
      expiry: undefined,
      sendFailures: 2,
      reshardDue: Number.POSITIVE_INFINITY,
      inAlarm: false,
      now: 1_000_000,
      deletionDue: 1_000_000 + REARM_DELAY_MS,
      metricsDue: Number.POSITIVE_INFINITY,
    };
    expect(nextAlarm({ ...state, pendingEvents: false })).toBe(1_000_000 + REARM_DELAY_MS);
    expect(nextAlarm({ ...state, pendingEvents: false, inAlarm: true })).toBe(
      1_000_000 + REARM_DELAY_MS,
    );
    expect(nextAlarm({ ...state, pendingEvents: true })).toBe(1_000_000 + 30_000);
  });
});

describe("deleting an app", () => {
  it("ends every session once with its end event, sends them, then frees the storage", async () => {
    const app = "del-basic";
    const stub = manager(app);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    const stored = await createMany(stub, app, keys("s", 1203)); // three batches of at most 500
    testClock.now = T0 + 30;
    const answers = await deleteFully(app, () => manager(app));
    expect(answers.at(-1)).toEqual({ app, deleted: true, sessions: 0, pendingEvents: 0 });

    await eventsDelivered();
    const ends = eventsOf(app).filter((e) => e.type === "end");
    expect(ends).toHaveLength(1203);
    expect(new Set(ends.map((e) => e.id))).toEqual(new Set(stored.map((s) => `${s.sid}:end`)));
    expect(ends.every((e) => e.reason === "invalidated" && e.at === T0 + 30)).toBe(true);
    expect(ends.find((e) => e.key === "s7")?.data).toEqual({ n: 1 });
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
    expect(await storageOf(manager(app))).toEqual({ tables: [], alarm: null, record: undefined });
  });

  it("ends a session already past its timeout as expired, as the sweep would have", async () => {
    const app = "del-expired";
    const stub = manager(app);
    unwrap(await stub.open(app, { timeout: 60, period: 20 }));
    await create(stub, app, "old");
    testClock.now = T0 + 500;
    await create(stub, app, "new");
    await deleteFully(app, () => manager(app));
    await eventsDelivered();
    const reasons = Object.fromEntries(eventsOf(app).map((e) => [e.key, e.reason]));
    expect(reasons).toEqual({ old: "expired", new: "invalidated" });
  });

  it("refuses every call on the app while it is deleted, and changes nothing", async () => {
    const app = "del-refuse";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app));
    const kept = await create(stub, app, "k", { n: 1 });
    flakyQueue.failuresLeft = 1000; // the end event cannot leave: the deletion waits for it
    const first = unwrap(await stub.deleteApp(app));
    expect(first).toEqual({ app, deleted: false, sessions: 0, pendingEvents: 1 });

    const refused = [
      await stub.get(app, "k"),
      await stub.query(app, "k"),
      await stub.has(app, "k"),
      await stub.commit(app, { key: "k", sid: kept.sid, version: kept.version, set: { n: 2 } }),
      unwrap(await stub.commitMany(app, [{ key: "x", sid: null, version: 0, set: { n: 1 } }]))[0],
      await stub.invalidate(app, "k"),
      await stub.open(app),
      await stub.configure(app, { timeout: 99 }),
      await stub.sweep(app),
    ];
    for (const answer of refused) {
      expect(answer).toMatchObject({ ok: false, error: { code: "app_deleting", status: 503 } });
    }
    expect(refused[0]).toMatchObject({
      error: { message: expect.stringContaining("is being deleted") },
    });
    // The stats say so, and how much is left.
    expect(unwrap(await stub.stats(app))).toMatchObject({
      deleting: true,
      sessions: 0,
      pendingEvents: 1,
    });
    // Asked again, it answers how far it has come; the storage is kept until the event is sent.
    expect(unwrap(await stub.deleteApp(app))).toMatchObject({ deleted: false, pendingEvents: 1 });
    expect((await storageOf(stub)).tables).toContain("sessions");

    flakyQueue.failuresLeft = 0;
    await runDurableObjectAlarm(stub);
    expect(flakyQueue.accepted.map((e) => [e.type, e.key, e.reason])).toEqual([
      ["end", "k", "invalidated"],
    ]);
    // The in-process hook saw the end too, once.
    expect(flakyQueue.hooked.filter((e) => e.type === "end").map((e) => [e.key, e.reason])).toEqual(
      [["k", "invalidated"]],
    );
    expect(await storageOf(manager(app, env.FLAKY_MANAGER))).toEqual({
      tables: [],
      alarm: null,
      record: undefined,
    });
  });

  it("frees the name: the app opens again as a new one, with fresh settings and no sessions", async () => {
    const app = "del-reuse";
    unwrap(await manager(app).open(app, { timeout: 60, period: 20, beginEvents: true }));
    await create(manager(app), app, "k", { old: true });
    await deleteFully(app, () => manager(app));
    expect(await manager(app).stats(app)).toMatchObject({
      ok: false,
      error: { code: "app_not_found" },
    });
    expect(unwrap(await manager(app).open(app, { timeout: 600, period: 10 }))).toMatchObject({
      timeout: 600,
      period: 10,
      beginEvents: false,
    });
    const again = unwrap(await manager(app).get(app, "k"));
    expect(again).toMatchObject({ version: 0, data: {} });
    expect(unwrap(await manager(app).stats(app)).sessions).toBe(0);
    // Deleted twice: the second time there is nothing to delete.
    await deleteFully(app, () => manager(app));
    expect(await manager(app).deleteApp(app)).toMatchObject({
      ok: false,
      error: { code: "app_not_found", status: 404 },
    });
  });

  it("answers 404 app_not_found for an app never used, and leaves nothing behind", async () => {
    const app = "del-never";
    expect(await manager(app).deleteApp(app)).toMatchObject({
      ok: false,
      error: { code: "app_not_found", status: 404 },
    });
    expect(await storageOf(manager(app))).toEqual({ tables: [], alarm: null, record: undefined });
  });

  it("refuses a bad app name, and another app than the object's", async () => {
    expect(await manager("del-bad").deleteApp("no spaces")).toMatchObject({
      ok: false,
      error: { code: "invalid_key", status: 400 },
    });
    unwrap(await manager("del-other").open("del-other"));
    expect(await manager("del-other").deleteApp("del-another")).toMatchObject({
      ok: false,
      error: { code: "wrong_app" },
    });
    expect(unwrap(await manager("del-other").stats("del-other")).deleting).toBeUndefined();
  });

  it("a crash in the middle resumes where it stopped, and no event is lost or doubled", async () => {
    const app = "del-crash";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app));
    const stored = await createMany(stub, app, keys("c", 1200)); // three batches of at most 500
    // The first send waits: the first batch has ended, its events are in the outbox, and the
    // object is aborted then.
    let release: () => void = () => {};
    flakyQueue.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const interrupted = stub.deleteApp(app).catch(() => "aborted");
    await vi.waitUntil(() => flakyQueue.attempted.length > 0, WAIT);
    const held = (flakyQueue.attempted[0] ?? []).map((e) => e.id);
    await abortAllDurableObjects();
    release();
    flakyQueue.hold = undefined;
    await interrupted;

    // The object comes back still deleting the app: calls are refused, and the work goes on.
    expect(await manager(app, env.FLAKY_MANAGER).get(app, "c1")).toMatchObject({
      ok: false,
      error: { code: "app_deleting" },
    });
    await deleteFully(app, () => manager(app, env.FLAKY_MANAGER));
    const sent = new Set(flakyQueue.accepted.map((e) => e.id));
    expect(sent).toEqual(new Set(stored.map((s) => `${s.sid}:end`)));
    await eventsDelivered();
    // Every session ended once. The interrupted batch may come twice, equal in every field (sent,
    // then aborted before its delete): at-least-once delivery, not a second end.
    const repeats = repeatsOf(app);
    expect(repeats.twice).toEqual([]);
    for (const id of repeats.resent) expect(held).toContain(id);
    expect(await storageOf(manager(app, env.FLAKY_MANAGER))).toEqual({
      tables: [],
      alarm: null,
      record: undefined,
    });
  });
});
