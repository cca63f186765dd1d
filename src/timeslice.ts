/**
 * The start of the period that contains `when`: `when - (when mod period)`.
 *
 * Sessions remember the timeslice of their last access instead of the exact time, so a session
 * read many times within one period is written at most once per period.
 *
 * @example
 * timeslice(20, 1234) // 1220
 */
export function timeslice(period: number, when: number): number {
  return when - (when % period);
}

/**
 * Whether a session whose last access fell in timeslice `slice` has expired at timeslice `now`.
 * A session is live while `now - slice <= timeout`.
 */
export function isExpired(slice: number, now: number, timeout: number): boolean {
  return now - slice > timeout;
}

/**
 * The first moment (seconds) at which a session last accessed in timeslice `slice` counts as
 * expired: the first period start `N` with `N - slice > timeout`.
 */
export function expiresAt(slice: number, timeout: number, period: number): number {
  return timeslice(period, slice + timeout) + period;
}
