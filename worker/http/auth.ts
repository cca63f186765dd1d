import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "./errors";

/** Options of `bearerAuth`. */
export interface BearerAuthOptions {
  /** The binding (secret) that holds the expected token. Default `"SESSIONS_API_TOKEN"`. */
  binding?: string;
}

/**
 * Requires `Authorization: Bearer <token>` matching the secret in `env[binding]`, compared in
 * constant time (both sides hashed with SHA-256, the digests compared with
 * `crypto.subtle.timingSafeEqual`, so neither the content nor the length of the token leaks
 * through timing). A missing or wrong token is 401 `unauthorized` with `WWW-Authenticate`.
 *
 * Fails closed: when the secret is not set (or empty, or only whitespace) every request is refused with 503
 * `not_configured`, since an API without a token would hand every session to anyone.
 * Tokens are never logged.
 *
 * @example
 * app.use("/v1/*", bearerAuth()); // token from env.SESSIONS_API_TOKEN
 */
export function bearerAuth({ binding = "SESSIONS_API_TOKEN" }: BearerAuthOptions = {}) {
  return async function bearerAuth(c: Context, next: () => Promise<void>): Promise<void> {
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
    if (!(await sameSecret(given, expected))) {
      throw new HttpError(
        "unauthorized",
        "The API token is wrong. Send the token configured as the worker's secret.",
        { "WWW-Authenticate": 'Bearer realm="edge-sessions", error="invalid_token"' },
      );
    }
    await next();
  } satisfies MiddlewareHandler;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), if any. */
function bearerToken(c: Context): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(c.req.header("Authorization") ?? "");
  return match?.[1];
}

const encoder = new TextEncoder();

/** The digest of the configured token, computed once per isolate (and again if it changes). */
let expectedDigest: { token: string; digest: Promise<ArrayBuffer> } | undefined;

function digestOf(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

async function sameSecret(given: string, expected: string): Promise<boolean> {
  if (expectedDigest?.token !== expected) {
    expectedDigest = { token: expected, digest: digestOf(expected) };
  }
  const [a, b] = await Promise.all([digestOf(given), expectedDigest.digest]);
  return crypto.subtle.timingSafeEqual(a, b);
}
