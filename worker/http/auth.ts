import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "./errors";

/** Options of `bearerAuth`. */
export interface BearerAuthOptions {
  /** The binding (secret) that holds the expected token. Default `"SESSIONS_API_TOKEN"`. */
  binding?: string;
}

/**
 * Requires `Authorization: Bearer <token>` matching the secret in `env[binding]`, compared in
 * constant time: the configured token is prepared once per isolate (its UTF-8 bytes in a buffer
 * of at least `COMPARED_BYTES`), each given token is copied into a buffer of the same size, and
 * the two are compared whole with `crypto.subtle.timingSafeEqual`, whatever the lengths; the
 * lengths are compared apart. So the time does not depend on how much of the token is right (no
 * signal by prefix), nor, for tokens up to `COMPARED_BYTES` bytes, on the configured token's
 * length. No hash per request. A missing or wrong token is 401 `unauthorized` with
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
    if (typeof expected !== "string" || expected.trim() === "") {
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

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
function bearerToken(c: Context): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(c.req.header("Authorization") ?? "");
  return match?.[1];
}

const encoder = new TextEncoder();

/**
 * The bytes every comparison covers at least: a token up to this long is compared in a time
 * that does not depend on its length (a longer configured token sets the size).
 */
export const COMPARED_BYTES = 256;

/**
 * The configured token, prepared once per isolate (and again if it changes): its bytes in a
 * zero-padded buffer, their count, and the buffer each given token is copied into.
 */
let prepared:
  | { token: string; expected: Uint8Array; length: number; given: Uint8Array }
  | undefined;

function prepare(token: string): NonNullable<typeof prepared> {
  const bytes = encoder.encode(token);
  const expected = new Uint8Array(Math.max(COMPARED_BYTES, bytes.length));
  expected.set(bytes);
  return { token, expected, length: bytes.length, given: new Uint8Array(expected.length) };
}

/**
 * Whether `given` is the configured token: both buffers compared whole in constant time, and the
 * lengths apart (a shorter token leaves zeros in the buffer; a longer one does not fit in it).
 * Synchronous, so the shared buffer is never used by two requests at once.
 */
function sameSecret(given: string, token: string): boolean {
  if (prepared?.token !== token) prepared = prepare(token);
  const { expected, length, given: buffer } = prepared;
  buffer.fill(0);
  const { read, written } = encoder.encodeInto(given, buffer);
  const sameBytes = crypto.subtle.timingSafeEqual(buffer, expected);
  return sameBytes && read === given.length && written === length;
}
