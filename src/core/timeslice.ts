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
 * The end of the period that contains `when`: what a session accessed at `when` remembers. Its
 * last access happened before this moment, whatever the period is later changed to, so expiry
 * counted from it never comes sooner than `timeout` after the last access.
 *
 * @example
 * sliceEnd(20, 1234) // 1240
 */
export function sliceEnd(period: number, when: number): number {
  return timeslice(period, when) + period;
}

/**
 * Whether a session whose last access happened before `end` (its `sliceEnd`) has expired at
 * `now`: once `timeout` seconds have passed since `end`. An idle session therefore lives at least
 * `timeout` and less than `timeout + period` seconds after its last access. When the period
 * divides the timeout this is the same moment as the first period start `N` with
 * `N - slice > timeout`.
 *
 * @example
 * isExpired(40, 80, 40) // true: last access before 40, timeout 40
 */
export function isExpired(end: number, now: number, timeout: number): boolean {
  // The sweep selects rows with `end <= now - timeout`; the same arithmetic here keeps the two
  // in agreement to the last bit.
  return end <= now - timeout;
}

/** The first moment (seconds) at which a session whose last access happened before `end` expires. */
export function expiresAt(end: number, timeout: number): number {
  return end + timeout;
}
