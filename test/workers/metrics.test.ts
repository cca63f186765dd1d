/**
 * An app's figures (docs/DESIGN.md#metrics): counted as sessions begin and end and calls are
 * answered, read from storage when asked, added up over shards (also during and after a move),
 * as JSON and in the Prometheus text format, saved by the alarm and short after a crash by at
 * most what was counted since the last save; and none of it adds a row to a read or a commit.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { beforeEach, describe, expect, it } from "vitest";
import type { AppMetrics } from "../../src/core/metrics";
import { objectName, SessionRouter, unwrap } from "../../src/index";
import { objectsOf } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { call, create, keys, manager, T0 } from "./helpers";
import { endMoves, ns, object } from "./user-objects";

beforeEach(() => {
  testClock.now = T0;
});

let counter = 0;
function freshApp(prefix: string): string {
  counter++;
  return `mx-${prefix}-${counter}`;
}

function router(): SessionRouter {
  return new SessionRouter(ns());
}

async function metricsOf(app: string): Promise<AppMetrics> {
  return unwrap(await router().metrics(app));
}

/** Every live session stored in any object of the app at these shard counts: a full scan. */
async function scanLive(app: string, counts: number[], timeout: number): Promise<number> {
  let live = 0;
  for (const name of new Set(counts.flatMap((n) => objectsOf(app, n)))) {
    live += await runInDurableObject(ns().getByName(name), (_i, state) => {
      const [row] = state.storage.sql
        .exec<{ n: number }>(
          "SELECT COUNT(*) AS n FROM sessions WHERE slice_end > ?",
          testClock.now - timeout,
        )
        .toArray();
      return row?.n ?? 0;
    });
  }
  return live;
}

describe("the figures of one object", () => {
  it("count sessions created and ended by reason, commits, conflicts and refusals", async () => {
    const app = freshApp("counts");
    const stub = manager(app);
    const a = await create(stub, app, "a");
    await create(stub, app, "b");
    await create(stub, app, "c");
    unwrap(await stub.invalidate(app, "b"));
    unwrap(await stub.regenerate(app, "c", "c2"));
    // A conflict: two commits from the same version change the same key.
    unwrap(await stub.commit(app, { key: "a", sid: a.sid, version: a.version, set: { n: 2 } }));
    const stale = await stub.commit(app, {
      key: "a",
      sid: a.sid,
      version: a.version,
      set: { n: 3 },
    });
    expect(stale.ok).toBe(false);
    // A refused read (a bad key): counted by its code.
    expect((await stub.get(app, "bad key")).ok).toBe(false);

    const m = await metricsOf(app);
    expect(m.totals.created).toBe(4); // a, b, c, and c moved to c2
    expect(m.totals.ended).toEqual({
      expired: 0,
      invalidated: 1,
      regenerated: 1,
      revoked: 0,
      evicted: 0,
    });
    expect(m.totals.commits).toBe(4);
    expect(m.totals.conflicts).toBe(1);
    expect(m.totals.refused).toEqual({ conflict: 1, invalid_key: 1 });
    expect(m.live).toBe(2);
    expect(m.shards).toEqual({ count: 1, answered: 1, missing: [] });
    // This minute holds all of it.
    expect(m.minutes).toHaveLength(1);
    expect(m.minutes[0]?.minute).toBe(Math.floor(T0 / 60) * 60);
    expect(m.minutes[0]?.created).toBe(4);
    // Two sessions ended at once: each lived 0 s.
    expect(m.timeAlive.count).toBe(2);
    expect(m.timeAlive.mean).toBe(0);
  });

  it("keeps an hour minute by minute, and the time alive and idle time as histograms", async () => {
    const app = freshApp("minutes");
    const stub = manager(app);
    await create(stub, app, "old");
    testClock.now = T0 + 120;
    await create(stub, app, "new");
    testClock.now = T0 + 600;
    unwrap(await stub.invalidate(app, "old"));
    const m = await metricsOf(app);
    expect(m.minutes.map((x) => [x.minute - Math.floor(T0 / 60) * 60, x.created])).toEqual([
      [0, 1],
      [120, 1],
      [600, 0],
    ]);
    expect(m.minutes[2]?.ended.invalidated).toBe(1);
    expect(m.timeAlive.count).toBe(1);
    expect(m.timeAlive.sum).toBe(600);
    // 600 s falls in the bucket (300, 900].
    expect(m.timeAlive.counts[m.timeAlive.bounds.indexOf(900)]).toBe(1);
    // "new" was last seen in the period that ended at its slice end, about 480 s ago.
    expect(m.idle.count).toBe(1);
    expect(m.idle.counts[m.idle.bounds.indexOf(900)]).toBe(1);

    // An hour later, the minutes of the first hour are gone; the totals stay.
    testClock.now = T0 + 7200;
    unwrap(await stub.get(app, "probe"));
    const later = await metricsOf(app);
    expect(later.minutes).toEqual([]);
    expect(later.totals.created).toBe(2);
  });

  it("read the sweep lag and the outbox from storage", async () => {
    const app = freshApp("lag");
    const stub = manager(app);
    unwrap(await stub.open(app, { timeout: 100, period: 10 }));
    await create(stub, app, "a");
    // Expired 50 s ago, not swept yet (no alarm ran).
    testClock.now = T0 + 10 + 100 + 50;
    const m = await metricsOf(app);
    expect(m.sweepLag).toBeGreaterThanOrEqual(50);
    expect(m.sweepLag).toBeLessThanOrEqual(60);
    expect(m.live).toBe(0);
    await runDurableObjectAlarm(ns().getByName(objectName(app)));
    const swept = await metricsOf(app);
    expect(swept.sweepLag).toBe(0);
    expect(swept.totals.ended.expired).toBe(1);
    // The end event was written to the outbox and sent.
    expect(swept.outbox.backlog).toBe(0);
  });

  it("add no row to a read within its period, nor to a commit, and reading them writes nothing", async () => {
    const app = freshApp("rows");
    const stub = manager(app);
    const a = await create(stub, app, "a");
    unwrap(await stub.get(app, "a"));
    const before = await stub.usage();
    unwrap(await stub.get(app, "a"));
    await metricsOf(app);
    const afterRead = await stub.usage();
    expect(afterRead.rowsWritten).toBe(before.rowsWritten);
    unwrap(await stub.commit(app, { key: "a", sid: a.sid, version: a.version, set: { n: 5 } }));
    const afterCommit = await stub.usage();
    // One row: the session's. The counts wait in memory for the alarm.
    expect(afterCommit.rowsWritten - afterRead.rowsWritten).toBe(1);
  });
});

describe("saved counts", () => {
  it("are saved by the alarm; a crash loses at most what was counted since the last save", async () => {
    const app = freshApp("crash");
    const stub = manager(app);
    await create(stub, app, "a");
    await create(stub, app, "b");
    // The alarm saves the counts (one row), then more are made and the object crashes.
    await runDurableObjectAlarm(ns().getByName(objectName(app)));
    const saved = await metricsOf(app);
    expect(saved.totals.created).toBe(2);
    await create(stub, app, "c");
    unwrap(await stub.invalidate(app, "a"));
    expect((await metricsOf(app)).totals.created).toBe(3);
    await evictDurableObject(ns().getByName(objectName(app)));
    const after = await metricsOf(app);
    // Short by exactly what was counted after the save; the gauges are read from storage.
    expect(after.totals.created).toBe(2);
    expect(after.totals.ended.invalidated).toBe(0);
    expect(after.live).toBe(2);

    // Counts wait at most a minute: the alarm is armed for their save.
    await create(stub, app, "d");
    const alarmAt = await runInDurableObject(ns().getByName(objectName(app)), (_i, state) =>
      state.storage.getAlarm(),
    );
    expect(alarmAt).not.toBeNull();
    expect(alarmAt as number).toBeLessThanOrEqual((testClock.now + 60) * 1000);
    await runDurableObjectAlarm(ns().getByName(objectName(app)));
    await evictDurableObject(ns().getByName(objectName(app)));
    expect((await metricsOf(app)).totals.created).toBe(3);
  });
});

describe("the figures of a sharded app", () => {
  it("add up the shards, per shard too, and match a full scan during and after moves", async () => {
    const app = freshApp("shards");
    const r = router();
    unwrap(await r.open(app, { shards: 4 }));
    const sessions = keys("k", 40);
    for (const key of sessions) {
      const view = unwrap(await r.get(app, key));
      unwrap(await r.commit(app, { key, sid: view.sid, version: view.version, set: { n: 1 } }));
    }
    for (const key of sessions.slice(0, 5)) unwrap(await r.invalidate(app, key));
    const m = await metricsOf(app);
    expect(m.live).toBe(35);
    expect(m.totals.created).toBe(40);
    expect(m.totals.ended.invalidated).toBe(5);
    expect(m.shards.missing).toEqual([]);
    expect(m.perShard.map((s) => s.shard)).toEqual([
      app,
      `${app}#0`,
      `${app}#1`,
      `${app}#2`,
      `${app}#3`,
    ]);
    expect(m.perShard.reduce((sum, s) => sum + s.live, 0)).toBe(35);
    expect(m.move).toBeNull();

    // A move from 4 to 8: while it is under way, the sessions left to move are counted.
    unwrap(await r.configure(app, { shards: 8 }));
    const during = await metricsOf(app);
    expect(during.move).toMatchObject({ from: 4, to: 8 });
    expect(during.move?.left).toBeGreaterThan(0);
    expect(during.live + (during.move?.left ?? 0)).toBeGreaterThanOrEqual(35);
    await endMoves(app);
    const after = await metricsOf(app);
    expect(after.move).toBeNull();
    expect(after.live).toBe(await scanLive(app, [4, 8], 1200));
    expect(after.live).toBe(35);
    // Moves are not sessions beginning or ending.
    expect(after.totals.created).toBe(40);
    expect(after.totals.ended.invalidated).toBe(5);

    // Down to 2: the counts of the shards left behind still add up.
    unwrap(await r.configure(app, { shards: 2 }));
    await endMoves(app);
    const down = await metricsOf(app);
    expect(down.live).toBe(35);
    expect(down.totals.created).toBe(40);
    expect(down.totals.ended.invalidated).toBe(5);
    expect(
      down.perShard
        .filter((s) => s.live > 0)
        .map((s) => s.shard)
        .sort(),
    ).toEqual([`${app}#0`, `${app}#1`]);
  });

  it("name the shards that do not answer in time, and add up the rest", async () => {
    const app = freshApp("late");
    const r = router();
    unwrap(await r.open(app, { shards: 2 }));
    for (const key of keys("k", 10)) {
      const view = unwrap(await r.get(app, key));
      unwrap(await r.commit(app, { key, sid: view.sid, version: view.version, set: { n: 1 } }));
    }
    const late = `${app}#1`;
    const hanging = new SessionRouter({
      getByName: (name: string) => {
        const real = object(name);
        if (name !== late) return real;
        return new Proxy(real, {
          get: (target, prop) =>
            prop === "metrics" ? () => new Promise(() => {}) : Reflect.get(target, prop),
        }) as SessionObjectRpc;
      },
    });
    const m = unwrap(await hanging.metrics(app, 50));
    expect(m.shards).toEqual({ count: 3, answered: 2, missing: [late] });
    const full = await metricsOf(app);
    const lateLive = full.perShard.find((s) => s.shard === late)?.live ?? 0;
    expect(m.live).toBe(10 - lateLive);
    expect(m.perShard.find((s) => s.shard === late)).toMatchObject({ answered: false, live: 0 });
  });
});

describe("over HTTP", () => {
  it("answers JSON by default and the Prometheus text format when a scrape asks for it", async () => {
    const app = freshApp("http");
    const stub = manager(app);
    await create(stub, app, "a");
    await create(stub, app, "b");
    unwrap(await stub.invalidate(app, "a"));
    const asJson = await call("GET", `/v1/apps/${app}/metrics`);
    expect(asJson.status).toBe(200);
    expect(asJson.headers.get("Content-Type")).toMatch(/^application\/json/);
    const json = (await asJson.json()) as AppMetrics;
    expect(json.live).toBe(1);

    const response = await SELF_fetch(`/v1/apps/${app}/metrics`, {
      // What Prometheus sends.
      Accept:
        "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusTextFormat(await response.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(
        families
          .find((f) => f.name === name)
          ?.metrics.find((metric) =>
            Object.entries(labels).every(([k, v]) => metric.labels?.[k] === v),
          )?.value ?? Number.NaN,
      );
    expect(value("edge_sessions_live", { app })).toBe(json.live);
    expect(value("edge_sessions_created_total", { app })).toBe(json.totals.created);
    expect(value("edge_sessions_ended_total", { app, reason: "invalidated" })).toBe(1);
    expect(value("edge_sessions_commits_total", { app })).toBe(json.totals.commits);
    const alive = families.find((f) => f.name === "edge_sessions_time_alive_seconds");
    expect(alive?.type).toBe("HISTOGRAM");
    // The parser keeps a labelled histogram's buckets (cumulative; +Inf is the count).
    const buckets = alive?.metrics[0]?.buckets ?? {};
    expect(Number(buckets["+Inf"])).toBe(json.timeAlive.count);
    expect(Number(buckets["900"])).toBe(
      json.timeAlive.counts.slice(0, 5).reduce((a, b) => a + b, 0),
    );
  });

  it("refuses a bad app name and an app never used", async () => {
    expect((await call("GET", "/v1/apps/bad%20name/metrics")).status).toBe(400);
    const missing = await call("GET", `/v1/apps/${freshApp("never")}/metrics`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(
      "app_not_found",
    );
  });
});

/** `call` with headers of its own (the test token added). */
async function SELF_fetch(path: string, headers: Record<string, string>): Promise<Response> {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(
    new Request(`https://sessions.test${path}`, {
      headers: { Authorization: "Bearer test-token", ...headers },
    }),
  );
}
