import { END_REASONS } from "./events.js";
import type { AppMetrics, Histogram } from "./metrics.js";

/** The media type of the Prometheus text exposition format this renders. */
export const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

/**
 * An app's figures in the Prometheus text exposition format (version 0.0.4), every series
 * labelled with the app: counters since the app began (`rate()` gives per-second figures), gauges
 * now, and the time alive of ended sessions as a histogram (docs/operating.md#metrics).
 *
 * @example
 * return new Response(prometheusText(metrics), { headers: { "Content-Type": PROMETHEUS_TEXT } });
 */
export function prometheusText(metrics: AppMetrics): string {
  const app = `app="${escapeLabel(metrics.app)}"`;
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: [string, number][]) => {
    out.push(`# HELP edge_sessions_${name} ${help}`, `# TYPE edge_sessions_${name} ${type}`);
    for (const [labels, value] of lines) out.push(`edge_sessions_${labels} ${number(value)}`);
  };
  const { totals } = metrics;
  family("live", "gauge", "Live sessions now.", [[`live{${app}}`, metrics.live]]);
  family(
    "shard_live",
    "gauge",
    "Live sessions now, per shard (objects that answered).",
    metrics.perShard
      .filter((s) => s.answered)
      .map((s) => [`shard_live{${app},shard="${escapeLabel(s.shard)}"}`, s.live]),
  );
  family("created_total", "counter", "Sessions created.", [
    [`created_total{${app}}`, totals.created],
  ]);
  family(
    "ended_total",
    "counter",
    "Sessions ended, by reason.",
    END_REASONS.map((reason) => [`ended_total{${app},reason="${reason}"}`, totals.ended[reason]]),
  );
  family("commits_total", "counter", "Commits stored.", [
    [`commits_total{${app}}`, totals.commits],
  ]);
  family("conflicts_total", "counter", "Commits refused with a conflict.", [
    [`conflicts_total{${app}}`, totals.conflicts],
  ]);
  family(
    "refused_total",
    "counter",
    "Calls refused, by error code.",
    Object.entries(totals.refused)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => [`refused_total{${app},code="${escapeLabel(code)}"}`, n]),
  );
  family(
    "time_alive_seconds",
    "histogram",
    "Time alive of the sessions that ended (end minus created).",
    histogramLines("time_alive_seconds", app, metrics.timeAlive),
  );
  family(
    "idle_sessions",
    "gauge",
    "Live sessions idle at most le seconds (since the end of their last access's period).",
    cumulative(metrics.idle).map(([le, n]) => [`idle_sessions{${app},le="${le}"}`, n]),
  );
  family(
    "sweep_lag_seconds",
    "gauge",
    "How long the oldest expired session has waited to be swept.",
    [[`sweep_lag_seconds{${app}}`, metrics.sweepLag]],
  );
  family("outbox_backlog", "gauge", "End events waiting for the Queue.", [
    [`outbox_backlog{${app}}`, metrics.outbox.backlog],
  ]);
  family("outbox_oldest_age_seconds", "gauge", "Age of the oldest event waiting (0 when none).", [
    [`outbox_oldest_age_seconds{${app}}`, metrics.outbox.oldestAge ?? 0],
  ]);
  family(
    "move_left",
    "gauge",
    "Sessions left to move while the shard count changes (0 when none).",
    [[`move_left{${app}}`, metrics.move?.left ?? 0]],
  );
  family(
    "shards_missing",
    "gauge",
    "Shards that did not answer in time (the figures are partial).",
    [[`shards_missing{${app}}`, metrics.shards.missing.length]],
  );
  return `${out.join("\n")}\n`;
}

/** A histogram's `_bucket`, `_sum` and `_count` lines. */
function histogramLines(name: string, app: string, histogram: Histogram): [string, number][] {
  return [
    ...cumulative(histogram).map(([le, n]): [string, number] => [
      `${name}_bucket{${app},le="${le}"}`,
      n,
    ]),
    [`${name}_sum{${app}}`, histogram.sum],
    [`${name}_count{${app}}`, histogram.count],
  ];
}

/** Each bound (`+Inf` last) with how many values are at most it. */
function cumulative(histogram: Histogram): [string, number][] {
  let total = 0;
  return histogram.counts.map((n, i) => {
    total += n;
    const bound = histogram.bounds[i];
    return [bound === undefined ? "+Inf" : String(bound), total];
  });
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** A label value with `\`, `"` and newlines escaped, as the format asks. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
