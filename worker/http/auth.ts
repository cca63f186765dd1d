import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "./errors";

/** Options of `bearerAuth`. */
export interface BearerAuthOptions {
  /** The binding (secret) that holds the expected token. Default `"SESSIONS_API_TOKEN"`. */
  binding?: string;
}

/**
 * Requires `Authorization: Bearer <token>` matching the secret in `env[binding]`, compared in
 * constant time: the configured token is prepared once per isolate (its UTF-16 code units in a
 * buffer of at least `COMPARED_UNITS`), each given token is copied into a buffer of the same
 * size, and the two are compared whole with `crypto.subtle.timingSafeEqual`, whatever the
 * lengths; the lengths are compared apart. So the time does not depend on how much of the token
 * is right (no signal by prefix), nor, for tokens up to `COMPARED_UNITS` characters, on the
 * configured token's length. No hash and no encoding per request. A missing or wrong token is 401 `unauthorized` with
 * `WWW-Authenticate`.
 *
 * Fails closed: when the secret is not set (or empty, or only whitespace) every request is refused with 503
 * `not_configured`, since an API without a token would hand every session to anyone.
 * Tokens are never logged.
 *
 * @example
 * app.use("/v1/*", bearerAuth()); // token from env.SESSIONS_API_TOKEN
 */
export function bearerAuth({ binding = "SESSIONS_API_TOKEN" }: BearerAuthOptions = {}) {
  // Not async: a request with the right token goes on to `next` without an extra step.
  return function bearerAuth(c: Context, next: () => Promise<void>): Promise<void> {
    const expected = (c.env as Record<string, unknown> | undefined)?.[binding];
    // A secret of only whitespace is as good as none (no bearer token can match it).
    if (typeof expected !== "string" || !configured(expected)) {
      throw new HttpError(
        "not_configured",
        `The API token is not configured, so the API refuses every request. Set it with \`wrangler secret put ${binding}\` (locally: in .dev.vars).`,
      );
    }
    const given = bearerToken(c);
    if (given === undefined) {
      throw new HttpError(
        "unauthorized",
        'Send the API token as "Authorization: Bearer <token>".',
        { "WWW-Authenticate": 'Bearer realm="edge-sessions"' },
      );
    }
    if (!sameSecret(given, expected)) {
      throw new HttpError(
        "unauthorized",
        "The API token is wrong. Send the token configured as the worker's secret.",
        { "WWW-Authenticate": 'Bearer realm="edge-sessions", error="invalid_token"' },
      );
    }
    return next();
  } satisfies MiddlewareHandler;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
function bearerToken(c: Context): string | undefined {
  const match = BEARER.exec(c.req.raw.headers.get("Authorization") ?? "");
  return match?.[1];
}

/** The runtime's crypto, looked up once. */
const subtle = crypto.subtle;

/**
 * The UTF-16 code units every comparison covers at least: a token up to this long is compared in
 * a time that does not depend on its length (a longer configured token sets the size).
 */
export const COMPARED_UNITS = 256;

/**
 * The configured token, prepared once per isolate (and again if it changes): its code units in a
 * zero-padded buffer, and the buffer each given token is copied into.
 */
let prepared:
  | { token: string; configured: boolean; expected: Uint16Array; given: Uint16Array }
  | undefined;

/** Whether `token` is a usable secret (not only whitespace); asked of a new one only. */
function configured(token: string): boolean {
  if (prepared?.token !== token) prepared = prepare(token);
  return prepared.configured;
}

function prepare(token: string): NonNullable<typeof prepared> {
  const expected = new Uint16Array(Math.max(COMPARED_UNITS, token.length));
  for (let i = 0; i < token.length; i++) expected[i] = token.charCodeAt(i);
  return {
    token,
    configured: token.trim() !== "",
    expected,
    given: new Uint16Array(expected.length),
  };
}

/**
 * Whether `given` is the configured token: its code units copied into a zero-padded buffer as
 * long as the configured one's (a copy whose length depends on the given token only), both
 * buffers compared whole in constant time, and the lengths apart. Synchronous, so the shared
 * buffer is never used by two requests at once.
 */
function sameSecret(given: string, token: string): boolean {
  if (prepared?.token !== token) prepared = prepare(token);
  const { expected, given: buffer } = prepared;
  buffer.fill(0);
  const copied = Math.min(given.length, buffer.length);
  for (let i = 0; i < copied; i++) buffer[i] = given.charCodeAt(i);
  const sameUnits = subtle.timingSafeEqual(buffer, expected);
  return sameUnits && given.length === token.length;
}
