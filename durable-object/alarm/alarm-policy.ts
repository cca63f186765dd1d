// When the object's alarm runs, and what it does when a run fails (docs/DESIGN.md#sweep).

/** Batches one alarm run works through before it yields and re-arms. */
export const SWEEP_BATCHES_PER_ALARM = 40;
/** Retry delays (ms) for the Queue, by attempt; the last one repeats. */
export const SEND_RETRY_MS = [1_000, 5_000, 30_000, 120_000, 300_000];
/** How long an alarm that still has due work waits before it runs again. */
export const REARM_DELAY_MS = 1_000;
/** After this many failed runs, the alarm catches its error and re-arms itself. */
export const ALARM_RETRIES_BEFORE_REARM = 3;

/** What the next alarm time depends on. */
export interface AlarmState {
  /** When the next session can expire (seconds), if any is stored. */
  expiry: number | undefined;
  /** Whether events wait for the Queue. */
  pendingEvents: boolean;
  /** Sends failed in a row. */
  sendFailures: number;
  /** When a move needs the alarm (ms), or `Infinity`. */
  reshardDue: number;
  /** While the app is being deleted, when the deletion goes on (ms; docs/DESIGN.md#deleting-an-app). */
  deletionDue?: number;
  /** When counts made in memory are due to be saved (ms), or `Infinity` (docs/DESIGN.md#metrics). */
  metricsDue: number;
  /** Whether this is the alarm re-arming itself at the end of a run. */
  inAlarm: boolean;
  /** Now (ms). */
  now: number;
}

/**
 * The next moment work is due (ms), or `Infinity` when none is: a session can expire, unsent
 * events wait (retried later with each failure in a row), counts wait to be saved, or a move
 * or a deletion goes on.
 */
export function nextAlarm(state: AlarmState): number {
  let due = state.expiry === undefined ? Number.POSITIVE_INFINITY : state.expiry * 1000;
  due = Math.min(due, state.metricsDue);
  if (state.pendingEvents) {
    const delay =
      SEND_RETRY_MS[Math.min(state.sendFailures, SEND_RETRY_MS.length - 1)] ?? REARM_DELAY_MS;
    due = Math.min(due, state.now + delay);
  } else if (state.deletionDue !== undefined) {
    // A deletion goes on (a moment after its last step), but for events the Queue refused:
    // those wait as above.
    due = Math.min(due, state.deletionDue);
  }
  // An alarm that re-arms for work already due waits a moment rather than firing at once;
  // a move that made progress goes on at once (it paces itself when it fails).
  if (state.inAlarm && due !== Number.POSITIVE_INFINITY) {
    due = Math.max(due, state.now + REARM_DELAY_MS);
  }
  return Math.min(due, state.reshardDue);
}

/**
 * Whether a failed run throws, so that the runtime retries it; after a few retries it stops
 * throwing and re-arms itself instead, since an alarm that exhausted its retries never runs again.
 */
export function retriedByRuntime(retryCount: number | undefined): boolean {
  return (retryCount ?? 0) < ALARM_RETRIES_BEFORE_REARM;
}
