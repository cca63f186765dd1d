import type { SessionData } from "../core/data.js";
import { assertSessionKey } from "../core/names.js";

/**
 * An unstorage item as a session holds it: the value unstorage gives the driver (always a
 * string: unstorage serializes values before a driver sees them) under `value`, and its expiry
 * (seconds since the epoch), when it was set with a `ttl`, under `expires`.
 */
export const VALUE_KEY = "value";
export const EXPIRES_KEY = "expires";

/** The item's value, or `null` when the session holds none or it expired at `now`. */
export function valueAt(session: SessionData | undefined, now: number): string | null {
  if (session === undefined || hasExpired(session, now)) return null;
  const value = session.get(VALUE_KEY);
  return typeof value === "string" ? value : null;
}

/** Whether the item's `ttl` has run out at `now`. */
export function hasExpired(session: SessionData, now: number): boolean {
  const expires = session.get(EXPIRES_KEY);
  return typeof expires === "number" && expires <= now;
}

/** Sets the item's value, and its expiry `ttl` seconds after `now` (none without a `ttl`). */
export function writeItem(
  session: SessionData,
  value: string,
  ttl: number | undefined,
  now: number,
): void {
  session.set(VALUE_KEY, value);
  if (ttl === undefined) session.delete(EXPIRES_KEY);
  else session.set(EXPIRES_KEY, now + ttl);
}

/**
 * The session key of an unstorage key: every character a session key cannot hold (and `~`, the
 * escape) as `~` and two hex digits per UTF-8 byte, so that any unstorage key, such as the `$`
 * of its meta items, has a session of its own. Throws `InvalidKeyError` past 256 characters.
 *
 * @example
 * sessionKeyOf("cart:abc$") === "cart:abc~24"
 */
export function sessionKeyOf(key: string): string {
  const encoded = key.replace(/[^A-Za-z0-9._:@-]/gu, (char) =>
    [...new TextEncoder().encode(char)]
      .map((byte) => `~${byte.toString(16).padStart(2, "0")}`)
      .join(""),
  );
  assertSessionKey(encoded);
  return encoded;
}
