import type { SessionData } from "../core/data.js";

/**
 * React Router's `expires` for a session, kept in the stored session under this reserved key
 * (seconds since the epoch): React Router's data never shows it.
 */
export const EXPIRES_KEY = "__edge_sessions_expires__";

/** Whether the session's stored expiry has passed at `now` (seconds). */
export function hasExpired(data: SessionData, now: number): boolean {
  const expires = data.get(EXPIRES_KEY);
  return typeof expires === "number" && expires <= now;
}

/**
 * The expiry to write for `expires` (React Router's), or `undefined` when the stored one is
 * close enough. A rolling cookie (`maxAge`) gives a new `expires` at every commit; writing it
 * every time would make every two concurrent commits conflict on this key, so it is written only
 * when it moves by more than `slack` seconds (the app's `period`, the granularity the service
 * keeps access times to). A session without `expires` keeps none (the app's `timeout` ends it).
 */
export function expiryToWrite(
  data: SessionData,
  expires: Date | undefined,
  slack: number,
): number | null | undefined {
  const stored = data.get(EXPIRES_KEY);
  if (expires === undefined) return typeof stored === "number" ? null : undefined;
  const next = expires.getTime() / 1000;
  if (typeof stored === "number" && Math.abs(next - stored) <= slack) return undefined;
  return next;
}
