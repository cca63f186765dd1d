import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, SessionError } from "../../src/core/errors";
import { sessionView } from "../../src/core/session-view";
import { errorBody } from "../../src/routing/wire";

/**
 * An error of the HTTP layer itself (auth, routing, request bodies): a `SessionError` that also
 * carries response headers, such as `WWW-Authenticate` on 401 or `Allow` on 405. Its status is
 * the code's in `ERROR_CODES`.
 *
 * @example
 * throw new HttpError("unsupported_media_type", "Send the body as application/json.");
 */
export class HttpError extends SessionError {
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(code, message);
    this.headers = headers;
  }
}

/** Codes for the statuses that Hono's own `HTTPException` may carry. */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "body_too_large",
  415: "unsupported_media_type",
};

/**
 * The one place errors become responses: `{ error: { code, message } }` with the error's status.
 * A conflict adds `error.keys` and the stored session as `current` (`null` when none); a settings
 * mismatch adds `error.setting`. Anything unexpected is a 500 `internal` whose details go to the
 * log, never to the client.
 */
/** The Retry-After (seconds) of a call refused because its app is being deleted. */
const APP_DELETING_RETRY_S = 5;

export const onError: ErrorHandler = (error, c) => {
  if (error instanceof SessionError) {
    const { status, current, ...details } = errorBody(error);
    const body =
      current === undefined
        ? { error: details }
        : { error: details, current: current === null ? null : sessionView(current) };
    const headers: Record<string, string> = {
      ...(error instanceof HttpError ? error.headers : {}),
    };
    // An app being deleted: a deletion step runs at most every few seconds.
    if (error.code === "app_deleting") headers["Retry-After"] ??= String(APP_DELETING_RETRY_S);
    return c.json(body, status as ContentfulStatusCode, headers);
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code = CODE_OF_STATUS[error.status] ?? "bad_request";
    return errorResponse(c, error.status, code, error.message || "The request is not valid.");
  }
  if (isTransient(error)) {
    console.error("session storage unavailable", describe(error));
    return errorResponse(
      c,
      503,
      "unavailable",
      "Session storage is briefly unavailable. Retry the request in a moment.",
      { "Retry-After": "1" },
    );
  }
  // Only the error's name and message: never the request, its token or session data.
  console.error("internal error", describe(error));
  return errorResponse(
    c,
    500,
    "internal",
    "Internal error. The details are in the worker's log; retry, and report it if it persists.",
  );
};

/**
 * Unknown routes: 404 `no_route` (`not_found` is kept for "no such session"). A path with an
 * empty segment (an empty user: `/users//sessions`) says so. A user in the path is not repeated:
 * the message shows `{user}` in its place.
 */
export const notFound: NotFoundHandler = (c) => {
  const path = new URL(c.req.url).pathname.replace(
    /^(\/v1\/apps\/[^/]*\/users\/)[^/]+/,
    "$1{user}",
  );
  const empty = path.includes("//")
    ? " It has an empty segment: an app, session key, user or handle is never empty."
    : "";
  return errorResponse(
    c,
    404,
    "no_route",
    `No route for ${c.req.method} ${path}.${empty} The API lives under /v1/apps/:app (see docs/http-api.md).`,
  );
};

/**
 * A handler for a known path that answers 405 `method_not_allowed` with the `Allow` header.
 * Register it with `api.all(path, …)` after the path's real methods.
 */
export function methodNotAllowed(allow: string[]) {
  const header = allow.join(", ");
  return function methodNotAllowed(c: Context): never {
    throw new HttpError(
      "method_not_allowed",
      `${c.req.method} is not allowed here; use ${header}.`,
      { Allow: header },
    );
  };
}

function errorResponse(
  c: Context,
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return c.json({ error: { code, message } }, status as ContentfulStatusCode, headers);
}

/** Durable Object errors that Cloudflare marks as worth retrying (overloaded ones included). */
function isTransient(error: unknown): boolean {
  const flags = error as { retryable?: unknown; overloaded?: unknown } | null;
  return flags?.retryable === true || flags?.overloaded === true;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
}
