// The figures' arithmetic (docs/DESIGN.md#metrics): counts by minute with an injected clock,
// histograms and their quantiles, shards added up, and the Prometheus text format read back by
// a Prometheus text parser.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { SessionBeginEvent, SessionEndEvent } from "../../src/core/events";
import {
  appMetrics,
  emptyHistogram,
  HISTOGRAM_BOUNDS,
  MetricsCounter,
  observe,
  quantile,
  type ShardMetrics,
} from "../../src/core/metrics";
import { prometheusText } from "../../src/core/prometheus";
import type { StoredSession } from "../../src/core/session-view";

const T = 1_800_000_000; // a minute's start

function session(key: string, created: number): StoredSession {
  return {
    key,
    sid: `sid-${key}`,
    version: 1,
    created,
    lastModified: created,
    sliceEnd: created + 20,
    data: {},
    keyVersions: {},
    clearedVersion: 0,
  } as unknown as StoredSession;
}

describe("MetricsCounter", () => {
  it("counts into the totals and the minute of the clock it is given", () => {
    const counter = new MetricsCounter();
    counter.countEvent(new SessionBeginEvent("a", session("k", T), T), T);
    counter.countEvent(new SessionBeginEvent("a", session("l", T), T + 59), T + 59);
    counter.countEvent(new SessionEndEvent("a", session("k", T), "expired", T + 61), T + 61);
    counter.countCommit(T + 61, 3);
    counter.countRefusal("conflict", T + 61);
    counter.countRefusal("moved", T + 61);
    counter.countRefusal("wrong_shard", T + 61);
    const counts = counter.current(T + 61);
    expect(counts.totals.created).toBe(2);
    expect(counts.totals.ended.expired).toBe(1);
    expect(counts.totals.commits).toBe(3);
    expect(counts.totals.conflicts).toBe(1);
    // The router's redirections are not refusals.
    expect(counts.totals.refused).toEqual({ conflict: 1 });
    expect(counts.minutes.map((m) => [m.minute - T, m.created, m.commits])).toEqual([
      [0, 2, 0],
      [60, 0, 3],
    ]);
    expect(counts.timeAlive.count).toBe(1);
    expect(counts.timeAlive.sum).toBe(61);
  });

  it("keeps the last hour of minutes, and tells whether counts wait to be saved", () => {
    const counter = new MetricsCounter();
    expect(counter.unsaved).toBe(false);
    for (let i = 0; i < 90; i++) counter.countCommit(T + i * 60);
    expect(counter.unsaved).toBe(true);
    const taken = counter.take(T + 89 * 60);
    expect(counter.unsaved).toBe(false);
    expect(taken.minutes).toHaveLength(60);
    expect(taken.minutes[0]?.minute).toBe(T + 30 * 60);
    expect(taken.totals.commits).toBe(90);
    // Counts given back (as loaded from storage) go on from where they were.
    const again = new MetricsCounter(taken);
    again.countCommit(T + 90 * 60);
    expect(again.current(T + 90 * 60).totals.commits).toBe(91);
  });
});

describe("histograms", () => {
  it("put each value in the first bucket whose bound holds it", () => {
    const h = emptyHistogram();
    observe(h, 0);
    observe(h, 10);
    observe(h, 11);
    observe(h, 10_000_000);
    expect(h.counts[0]).toBe(2);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[HISTOGRAM_BOUNDS.length]).toBe(1);
    expect(h.count).toBe(4);
  });

  it("estimate quantiles within the bucket, as Prometheus's histogram_quantile does", () => {
    const h = emptyHistogram();
    expect(quantile(h, 0.5)).toBeNull();
    // 10 values in (60, 300]: the median is halfway through the bucket.
    for (let i = 0; i < 10; i++) observe(h, 100);
    expect(quantile(h, 0.5)).toBe(180);
    expect(quantile(h, 1)).toBe(300);
    // Above the last bound: that bound.
    const high = emptyHistogram();
    observe(high, 10_000_000);
    expect(quantile(high, 0.5)).toBe(HISTOGRAM_BOUNDS.at(-1));
  });
});

function shard(name: string, over: Partial<ShardMetrics> = {}): ShardMetrics {
  const counter = new MetricsCounter();
  counter.countEvent(new SessionBeginEvent("a", session("k", T), T), T);
  counter.countRefusal("invalid_key", T);
  return {
    shard: name,
    at: T,
    ...counter.current(T),
    live: 1,
    idle: { ...emptyHistogram(), counts: [1, ...HISTOGRAM_BOUNDS.map(() => 0)], count: 1 },
    sweepLag: 0,
    outbox: { backlog: 0, oldestAge: null },
    moving: 0,
    ...over,
  };
}

describe("appMetrics", () => {
  it("adds the shards up, and names those that did not answer", () => {
    const m = appMetrics(
      "a",
      T,
      [
        {
          shard: "a#0",
          metrics: shard("a#0", { sweepLag: 5, outbox: { backlog: 2, oldestAge: 9 } }),
        },
        {
          shard: "a#1",
          metrics: shard("a#1", { moving: 3, outbox: { backlog: 1, oldestAge: 4 } }),
        },
        { shard: "a#2", metrics: null },
      ],
      { from: 2, to: 3 },
    );
    expect(m.live).toBe(2);
    expect(m.totals.created).toBe(2);
    expect(m.totals.refused).toEqual({ invalid_key: 2 });
    expect(m.minutes).toHaveLength(1);
    expect(m.minutes[0]?.created).toBe(2);
    expect(m.sweepLag).toBe(5);
    expect(m.outbox).toEqual({ backlog: 3, oldestAge: 9 });
    expect(m.move).toEqual({ from: 2, to: 3, left: 3 });
    expect(m.shards).toEqual({ count: 3, answered: 2, missing: ["a#2"] });
    expect(m.perShard.map((s) => s.answered)).toEqual([true, true, false]);
    expect(m.idle.count).toBe(2);
    expect(m.idle.p50).not.toBeNull();
  });
});

describe("prometheusText", () => {
  it("is read back by a Prometheus text parser, labels escaped", () => {
    const app = 'a"b\\c';
    const m = appMetrics(app, T, [{ shard: "x", metrics: shard("x") }], null);
    const families = parsePrometheusTextFormat(prometheusText(m));
    const live = families.find((f) => f.name === "edge_sessions_live");
    expect(live?.type).toBe("GAUGE");
    expect(live?.metrics[0]?.labels?.app).toBe(app);
    expect(live?.metrics[0]?.value).toBe("1");
    const ended = families.find((f) => f.name === "edge_sessions_ended_total");
    expect(ended?.type).toBe("COUNTER");
    expect(ended?.metrics.map((s) => s.labels?.reason)).toEqual([
      "expired",
      "invalidated",
      "regenerated",
      "revoked",
      "evicted",
    ]);
    const refused = families.find((f) => f.name === "edge_sessions_refused_total");
    expect(refused?.metrics[0]?.labels).toEqual({ app, code: "invalid_key" });
    // Every family has its HELP and TYPE, and the text ends with a newline.
    expect(families.every((f) => f.help.length > 0)).toBe(true);
    expect(prometheusText(m).endsWith("\n")).toBe(true);
  });
});
