// How much of everything a run measures: full (a few minutes) or quick (about a minute).

export interface Plan {
  /** Interleaved A/B measurements of the goal ratios: pairs of slices, slice and warm-up ms. */
  ab: { pairs: number; sliceMs: number; warmupMs: number };
  /** The same for diagnostic ratios (no goal). */
  diag: { pairs: number; sliceMs: number; warmupMs: number };
  /** Runs of each in-process figure. */
  inProcessRuns: number;
  /** HTTP: rounds (each target once per round, forwards then backwards) of `seconds` each. */
  http: { rounds: number; seconds: number; warmupSeconds: number; probes: boolean };
  sweepSizes: number[];
  sweepRuns: number;
  /** Sessions of the app that moves from 1 to 4 shards. */
  reshardSessions: number;
  /** Pairs of slices (the moving app, its twin) measured before the move. */
  reshardPairsBefore: number;
}

export const FULL: Plan = {
  ab: { pairs: 240, sliceMs: 25, warmupMs: 1500 },
  diag: { pairs: 120, sliceMs: 25, warmupMs: 500 },
  inProcessRuns: 5,
  http: { rounds: 24, seconds: 0.5, warmupSeconds: 1, probes: true },
  sweepSizes: [1_000, 10_000, 100_000],
  sweepRuns: 3,
  reshardSessions: 20_000,
  reshardPairsBefore: 120,
};

export const QUICK: Plan = {
  ab: { pairs: 120, sliceMs: 25, warmupMs: 1500 },
  diag: { pairs: 60, sliceMs: 25, warmupMs: 500 },
  inProcessRuns: 3,
  http: { rounds: 12, seconds: 0.5, warmupSeconds: 0.5, probes: false },
  sweepSizes: [1_000, 10_000],
  sweepRuns: 3,
  reshardSessions: 5_000,
  reshardPairsBefore: 60,
};
