import { END_REASONS, type EndReason, type SessionEvent } from "./events.js";

// An app's figures for operators (docs/DESIGN.md#metrics): counts kept by each object as its
// sessions begin and end and its calls are answered, and gauges read from its storage when asked.
// Platform-free: the object stores the counts and reads the gauges; the router adds the shards up.

/** Upper bounds (seconds) of the histograms' buckets: time alive, and idle time. */
export const HISTOGRAM_BOUNDS: readonly number[] = [
  10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400, 604800,
];

/** Minutes of per-minute counts kept (the last hour). */
export const MINUTES_KEPT = 60;

/** Counts over a span of time: sessions created and ended by reason, commits, conflicts, refusals. */
export interface MetricCounts {
  /** Sessions first stored (a rotation or sign-in stores the session under a new key: one more). */
  created: number;
  /** Sessions ended, by reason. */
  ended: Record<EndReason, number>;
  /** Changesets committed (each one in a `commitMany` counts). */
  commits: number;
  /** Commits refused with `conflict`. */
  conflicts: number;
  /** Calls refused, by error code (conflicts among them; never `moved` and `wrong_shard`, which the router follows). */
  refused: Record<string, number>;
}

/** The counts of one minute. */
export interface MinuteCounts extends MetricCounts {
  /** The minute's start (seconds since the epoch). */
  minute: number;
}

/**
 * A histogram over `HISTOGRAM_BOUNDS`: `counts[i]` is how many values were at most
 * `bounds[i]` and above `bounds[i - 1]`; the last count is those above every bound.
 */
export interface Histogram {
  bounds: number[];
  counts: number[];
  /** How many values, and their sum (seconds). */
  count: number;
  sum: number;
}

/** A histogram with its summary: the mean, and quantiles estimated within buckets. */
export interface HistogramSummary extends Histogram {
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** The counts an object keeps: since the app was first stored here, and per minute. */
export interface StoredCounts {
  totals: MetricCounts;
  /** The last `MINUTES_KEPT` minutes that had counts, oldest first. */
  minutes: MinuteCounts[];
  /** Time alive (end minus created) of the sessions that ended. */
  timeAlive: Histogram;
}

/** What one object answers: its counts, and gauges read from its storage now. */
export interface ShardMetrics extends StoredCounts {
  /** The object's name (`app`, or `app#3` for a shard). */
  shard: string;
  /** When it answered (seconds). */
  at: number;
  /** Live sessions: stored and not expired. */
  live: number;
  /** Idle time of the live sessions (since the end of their last access's period: at least this). */
  idle: Histogram;
  /** How long the oldest expired session has waited to be swept (seconds; 0 when none waits). */
  sweepLag: number;
  /** Events waiting for the Queue, and the age of the oldest (seconds, `null` when none). */
  outbox: { backlog: number; oldestAge: number | null };
  /** During a move away from this object: sessions still here that belong elsewhere. */
  moving: number;
  /** The home object's: the app is being deleted. */
  deleting?: true;
}

/** One shard's part in an app's figures. */
export interface ShardFigures {
  shard: string;
  /** Whether it answered in time; when not, its figures are missing from the totals. */
  answered: boolean;
  live: number;
  sweepLag: number;
  backlog: number;
  moving: number;
}

/** An app's figures over all its shards (`GET /v1/apps/:app/metrics`). */
export interface AppMetrics {
  app: string;
  /** When the figures were read (seconds). */
  at: number;
  /** The shards asked, how many answered, and which did not (the figures are then partial). */
  shards: { count: number; answered: number; missing: string[] };
  /** Live sessions now. */
  live: number;
  totals: MetricCounts;
  /** The last hour, minute by minute, oldest first; minutes without counts are left out. */
  minutes: MinuteCounts[];
  timeAlive: HistogramSummary;
  idle: HistogramSummary;
  /** The largest sweep lag of any shard (seconds). */
  sweepLag: number;
  outbox: { backlog: number; oldestAge: number | null };
  /** A move under way: the shard counts, and sessions left to move; `null` when none. */
  move: { from: number; to: number; left: number } | null;
  /** Whether the app is being deleted (its sessions end; `live` falls to 0, then the app is gone). */
  deleting: boolean;
  perShard: ShardFigures[];
}

/** Counts of nothing. */
export function emptyCounts(): MetricCounts {
  const ended = Object.fromEntries(END_REASONS.map((r) => [r, 0])) as Record<EndReason, number>;
  return { created: 0, ended, commits: 0, conflicts: 0, refused: {} };
}

/** A histogram of nothing. */
export function emptyHistogram(): Histogram {
  return {
    bounds: [...HISTOGRAM_BOUNDS],
    counts: HISTOGRAM_BOUNDS.map(() => 0).concat(0),
    count: 0,
    sum: 0,
  };
}

/** Adds `value` (seconds) to `histogram`. */
export function observe(histogram: Histogram, value: number, times = 1): void {
  const v = Math.max(0, value);
  let i = histogram.bounds.findIndex((bound) => v <= bound);
  if (i < 0) i = histogram.bounds.length;
  histogram.counts[i] = (histogram.counts[i] ?? 0) + times;
  histogram.count += times;
  histogram.sum += v * times;
}

/** Adds `part` into `total` (same bounds). */
export function addHistogram(total: Histogram, part: Histogram): void {
  part.counts.forEach((n, i) => {
    total.counts[i] = (total.counts[i] ?? 0) + n;
  });
  total.count += part.count;
  total.sum += part.sum;
}

/** Adds `part` into `total`. */
export function addCounts(total: MetricCounts, part: MetricCounts): void {
  total.created += part.created;
  for (const reason of END_REASONS) total.ended[reason] += part.ended[reason] ?? 0;
  total.commits += part.commits;
  total.conflicts += part.conflicts;
  for (const [code, n] of Object.entries(part.refused)) {
    total.refused[code] = (total.refused[code] ?? 0) + n;
  }
}

/**
 * The `q` quantile (0..1) of a histogram, estimated as Prometheus's `histogram_quantile` does:
 * linearly within the bucket that holds it; above the last bound, that bound. `null` when empty.
 */
export function quantile(histogram: Histogram, q: number): number | null {
  if (histogram.count === 0) return null;
  const rank = q * histogram.count;
  let below = 0;
  for (let i = 0; i < histogram.counts.length; i++) {
    const n = histogram.counts[i] ?? 0;
    if (below + n >= rank && n > 0) {
      const upper = histogram.bounds[i];
      const lower = i === 0 ? 0 : (histogram.bounds[i - 1] ?? 0);
      if (upper === undefined) return lower;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return histogram.bounds.at(-1) ?? null;
}

/** A histogram with its mean and quantiles. */
export function summarize(histogram: Histogram): HistogramSummary {
  return {
    ...histogram,
    mean: histogram.count === 0 ? null : histogram.sum / histogram.count,
    p50: quantile(histogram, 0.5),
    p90: quantile(histogram, 0.9),
    p99: quantile(histogram, 0.99),
  };
}

/**
 * The counts one object keeps, in memory between saves (docs/DESIGN.md#metrics): it counts
 * events and answers as they happen, by the minute of the clock it is given.
 */
export class MetricsCounter {
  #stored: StoredCounts;
  /** Whether counts were made since the last `take`. */
  #unsaved = false;

  constructor(stored?: StoredCounts) {
    this.#stored = stored ?? { totals: emptyCounts(), minutes: [], timeAlive: emptyHistogram() };
  }

  /** Whether counts were made since they were last taken for saving. */
  get unsaved(): boolean {
    return this.#unsaved;
  }

  /** A session began or ended. */
  countEvent(event: SessionEvent, now: number): void {
    if (event.type === "begin") {
      this.#count(now, (c) => {
        c.created++;
      });
      return;
    }
    const reason = event.reason;
    this.#count(now, (c) => {
      c.ended[reason]++;
    });
    observe(this.#stored.timeAlive, event.at - event.created);
  }

  /** A commit was stored. */
  countCommit(now: number, n = 1): void {
    this.#count(now, (c) => {
      c.commits += n;
    });
  }

  /** A call was refused with `code` (`conflict`: a refused commit). */
  countRefusal(code: string, now: number): void {
    if (code === "moved" || code === "wrong_shard") return;
    this.#count(now, (c) => {
      c.refused[code] = (c.refused[code] ?? 0) + 1;
      if (code === "conflict") c.conflicts++;
    });
  }

  /** The counts as they are now, the minutes older than an hour before `now` dropped. */
  current(now: number): StoredCounts {
    this.#prune(now);
    return structuredClone(this.#stored);
  }

  /** The counts to save; from then on they count as saved until the next count. */
  take(now: number): StoredCounts {
    this.#unsaved = false;
    return this.current(now);
  }

  #count(now: number, add: (counts: MetricCounts) => void): void {
    add(this.#stored.totals);
    add(this.#minute(now));
    this.#unsaved = true;
  }

  #minute(now: number): MinuteCounts {
    const minute = Math.floor(now / 60) * 60;
    const minutes = this.#stored.minutes;
    const last = minutes.at(-1);
    // This minute's, or, for a clock that went back (rare), the latest minute kept.
    if (last !== undefined && last.minute >= minute) return last;
    const fresh = { minute, ...emptyCounts() };
    minutes.push(fresh);
    this.#prune(now);
    return fresh;
  }

  #prune(now: number): void {
    const oldest = Math.floor(now / 60) * 60 - (MINUTES_KEPT - 1) * 60;
    const minutes = this.#stored.minutes;
    let drop = 0;
    while (drop < minutes.length && (minutes[drop]?.minute ?? 0) < oldest) drop++;
    if (drop > 0) minutes.splice(0, drop);
  }
}

/**
 * An app's figures from the answers of its shards (`null`: no answer in time). `move` is the
 * app's move under way, if any, with the shard counts.
 */
export function appMetrics(
  app: string,
  at: number,
  answers: { shard: string; metrics: ShardMetrics | null }[],
  move: { from: number; to: number } | null,
  deleting = false,
): AppMetrics {
  const totals = emptyCounts();
  const timeAlive = emptyHistogram();
  const idle = emptyHistogram();
  const minutes = new Map<number, MinuteCounts>();
  const outbox = { backlog: 0, oldestAge: null as number | null };
  let live = 0;
  let sweepLag = 0;
  let moving = 0;
  const perShard: ShardFigures[] = [];
  const missing: string[] = [];
  for (const { shard, metrics } of answers) {
    if (metrics === null) {
      missing.push(shard);
      perShard.push({ shard, answered: false, live: 0, sweepLag: 0, backlog: 0, moving: 0 });
      continue;
    }
    addCounts(totals, metrics.totals);
    addHistogram(timeAlive, metrics.timeAlive);
    addHistogram(idle, metrics.idle);
    for (const m of metrics.minutes) {
      let sum = minutes.get(m.minute);
      if (sum === undefined) {
        sum = { minute: m.minute, ...emptyCounts() };
        minutes.set(m.minute, sum);
      }
      addCounts(sum, m);
    }
    live += metrics.live;
    sweepLag = Math.max(sweepLag, metrics.sweepLag);
    moving += metrics.moving;
    outbox.backlog += metrics.outbox.backlog;
    const age = metrics.outbox.oldestAge;
    if (age !== null && (outbox.oldestAge === null || age > outbox.oldestAge))
      outbox.oldestAge = age;
    perShard.push({
      shard,
      answered: true,
      live: metrics.live,
      sweepLag: metrics.sweepLag,
      backlog: metrics.outbox.backlog,
      moving: metrics.moving,
    });
  }
  const oldest = Math.floor(at / 60) * 60 - (MINUTES_KEPT - 1) * 60;
  return {
    app,
    at,
    shards: { count: answers.length, answered: answers.length - missing.length, missing },
    live,
    totals,
    minutes: [...minutes.values()]
      .filter((m) => m.minute >= oldest)
      .sort((a, b) => a.minute - b.minute),
    timeAlive: summarize(timeAlive),
    idle: summarize(idle),
    sweepLag,
    outbox,
    move: move === null ? null : { ...move, left: moving },
    deleting,
    perShard,
  };
}
