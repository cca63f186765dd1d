// The figures of one bench run: every metric's median and the measurements behind it, the
// goals and their verdicts, and how noisy the run was.
import { type Spread, spread } from "./stats.ts";

export const metrics: Record<string, number> = {};
export const runs: Record<string, number[]> = {};
export const spreads: Record<string, Spread> = {};

/** Records the measurements of a figure; returns their median. */
export function record(name: string, values: number[]): number {
  const s = spread(values);
  runs[name] = values;
  spreads[name] = s;
  metrics[name] = s.median;
  return s.median;
}

/**
 * Goals are judged only when the run was quiet enough: a ratio goal whose median is not sure to
 * within this (half the 95 % interval) is "noisy", and so is the run. Two runs that each pass
 * this agree within about twice it.
 */
export const MAX_RATIO_CI = 0.025;

export interface Goal {
  metric: string;
  text: string;
  /** The threshold a ratio is compared with (for the interval check), if it is one. */
  threshold?: number;
  /**
   * Left out of the run's steadiness (`steadiness`): HTTP ratios come from 24 rounds of loads by
   * another process, whose intervals are wider than ±0.025 on a shared machine. Such a goal is
   * still met, missed or noisy by its own interval.
   */
  outsideSteadiness?: boolean;
  met: (value: number) => boolean;
}

/** The goals (BENCHMARKS.md says why each is what it is). */
export const goals: Goal[] = [
  { metric: "get_vs_noop_rpc_ratio", text: ">= 0.85", threshold: 0.85, met: (v) => v >= 0.85 },
  {
    metric: "shard_routing_overhead_ratio",
    text: ">= 0.95",
    threshold: 0.95,
    met: (v) => v >= 0.95,
  },
  {
    metric: "commit_vs_one_row_write_ratio",
    text: ">= 0.85",
    threshold: 0.85,
    met: (v) => v >= 0.85,
  },
  {
    metric: "commit_c32_vs_one_row_write_c32_ratio",
    text: ">= 2",
    threshold: 2,
    met: (v) => v >= 2,
  },
  {
    metric: "rows_written_same_session_twice_grouped_vs_apart",
    text: "< 1",
    met: (v) => v < 1,
  },
  { metric: "rows_written_per_read_in_period", text: "= 0", met: (v) => v === 0 },
  { metric: "lost_updates_ours", text: "= 0", met: (v) => v === 0 },
  {
    metric: "http_read_vs_do_ping_ratio",
    text: ">= 0.9",
    threshold: 0.9,
    met: (v) => v >= 0.9,
    outsideSteadiness: true,
  },
  {
    metric: "diag_http_auth_vs_plain_ratio",
    text: ">= 0.97",
    threshold: 0.97,
    met: (v) => v >= 0.97,
    outsideSteadiness: true,
  },
  {
    metric: "http_read_vs_express_redis_ratio",
    text: ">= 1.3",
    threshold: 1.3,
    met: (v) => v >= 1.3,
    outsideSteadiness: true,
  },
  // Counting figures against counting none, interleaved (docs/DESIGN.md#metrics).
  {
    metric: "metrics_on_vs_off_read_ratio",
    text: ">= 0.97",
    threshold: 0.97,
    met: (v) => v >= 0.97,
    outsideSteadiness: true,
  },
  {
    metric: "metrics_on_vs_off_commit_ratio",
    text: ">= 0.97",
    threshold: 0.97,
    met: (v) => v >= 0.97,
    outsideSteadiness: true,
  },
  {
    metric: "metrics_rows_written_by_read_and_metrics_read",
    text: "= 0",
    met: (v) => v === 0,
  },
  // Pairs of slices during one move (the moving app against a twin that does not move), each
  // divided by the same ratio before the move: judged by its own interval, outside steadiness
  // (a move lasts a few seconds, so its pairs are few).
  {
    metric: "reshard_read_during_vs_before_ratio",
    text: ">= 0.7",
    threshold: 0.7,
    met: (v) => v >= 0.7,
    outsideSteadiness: true,
  },
];

export type Verdict = "met" | "missed" | "noisy";

export interface GoalResult {
  metric: string;
  goal: string;
  value: number;
  /** For ratio goals: the median's 95 % interval half-width. */
  ci95?: number;
  verdict: Verdict;
  met: boolean;
}

/**
 * A goal's verdict. A ratio goal is met or missed when the median's 95 % interval lies wholly on
 * one side of the threshold, and noisy (this run cannot judge it) when the interval straddles it.
 */
export function judge(goal: Goal): GoalResult {
  const value = metrics[goal.metric] ?? Number.NaN;
  const met = goal.met(value);
  const s = spreads[goal.metric];
  if (goal.threshold === undefined || s === undefined || s.n <= 1) {
    return { metric: goal.metric, goal: goal.text, value, verdict: met ? "met" : "missed", met };
  }
  const low = value - s.ci95;
  const high = value + s.ci95;
  const decided = !Number.isNaN(s.ci95) && (high < goal.threshold || low >= goal.threshold);
  return {
    metric: goal.metric,
    goal: goal.text,
    value,
    ci95: s.ci95,
    verdict: decided ? (met ? "met" : "missed") : "noisy",
    met,
  };
}

/**
 * Whether the run held still enough to compare with another: every ratio goal's median known to
 * within `MAX_RATIO_CI`; for a multiple (a goal above 1, such as 32 commits in flight against the
 * write floor), within the same share of its value. Lists the ratios that were not.
 */
export function steadiness(): { steady: boolean; noisy: string[] } {
  const noisy = goals
    .filter((g) => g.threshold !== undefined && g.outsideSteadiness !== true)
    .filter((g) => {
      const allowed = MAX_RATIO_CI * Math.max(1, metrics[g.metric] ?? 1);
      return !((spreads[g.metric]?.ci95 ?? Number.NaN) <= allowed);
    })
    .map((g) => g.metric);
  return { steady: noisy.length === 0, noisy };
}
