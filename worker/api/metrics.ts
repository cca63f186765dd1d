/** The schema of an app's figures (`GET /v1/apps/{app}/metrics`; docs/DESIGN.md#metrics). */
import * as v from "valibot";
import { END_REASONS } from "../../src/core/events";

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const seconds = v.pipe(v.number(), v.minValue(0));

const CountsEntries = {
  created: v.pipe(
    count,
    v.description("Sessions first stored (a rotation or sign-in counts one more)."),
  ),
  ended: v.pipe(
    v.strictObject(
      Object.fromEntries(END_REASONS.map((reason) => [reason, count])) as Record<
        string,
        typeof count
      >,
    ),
    v.description("Sessions ended, by reason."),
  ),
  commits: v.pipe(count, v.description("Changesets committed.")),
  conflicts: v.pipe(count, v.description("Commits refused with `conflict`.")),
  refused: v.pipe(
    v.record(v.string(), count),
    v.description(
      "Calls refused, by error code (never `moved` and `wrong_shard`, which the router follows).",
    ),
  ),
};

const CountsSchema = v.pipe(v.strictObject(CountsEntries), v.title("MetricCounts"));

const HistogramEntries = {
  bounds: v.pipe(v.array(seconds), v.description("The buckets' upper bounds (seconds).")),
  counts: v.pipe(
    v.array(count),
    v.description("Values in each bucket (not cumulative); the last one: above every bound."),
  ),
  count,
  sum: v.pipe(seconds, v.description("The values' sum (seconds).")),
  mean: v.nullable(seconds),
  p50: v.nullable(seconds),
  p90: v.nullable(seconds),
  p99: v.nullable(seconds),
};

const HistogramSchema = v.pipe(
  v.strictObject(HistogramEntries),
  v.title("Histogram"),
  v.description(
    "A histogram with its mean and quantiles (estimated within buckets; null when empty).",
  ),
);

export const AppMetricsSchema = v.pipe(
  v.strictObject({
    app: v.string(),
    at: v.pipe(v.number(), v.description("When the figures were read (seconds since the epoch).")),
    shards: v.pipe(
      v.strictObject({ count, answered: count, missing: v.array(v.string()) }),
      v.description(
        "The objects asked, how many answered in time, and which did not (the figures are then partial).",
      ),
    ),
    live: v.pipe(count, v.description("Live sessions now.")),
    totals: v.pipe(CountsSchema, v.description("Since the app began.")),
    minutes: v.pipe(
      v.array(v.strictObject({ minute: v.number(), ...CountsEntries })),
      v.description(
        "The last hour, minute by minute (minute: its start, seconds); minutes without counts left out.",
      ),
    ),
    timeAlive: v.pipe(HistogramSchema, v.description("Time alive of the sessions that ended.")),
    idle: v.pipe(
      HistogramSchema,
      v.description("Idle time of the live sessions, at least (to the period)."),
    ),
    sweepLag: v.pipe(
      seconds,
      v.description("How long the oldest expired session has waited to be swept."),
    ),
    outbox: v.pipe(
      v.strictObject({ backlog: count, oldestAge: v.nullable(seconds) }),
      v.description("Events waiting for the Queue, and the age of the oldest."),
    ),
    move: v.pipe(
      v.nullable(v.strictObject({ from: count, to: count, left: count })),
      v.description(
        "A change of shard count under way, and the sessions left to move; null when none.",
      ),
    ),
    perShard: v.array(
      v.strictObject({
        shard: v.string(),
        answered: v.boolean(),
        live: count,
        sweepLag: seconds,
        backlog: count,
        moving: count,
      }),
    ),
  }),
  v.title("AppMetrics"),
);
