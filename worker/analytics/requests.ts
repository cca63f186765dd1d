/**
 * Writing one Analytics Engine data point per request to the HTTP API, when a `SESSION_METRICS`
 * dataset is bound (docs/operating.md#analytics-engine); without one, nothing is done.
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { SessionError } from "../../src/core/errors";
import { ROUTES, type RouteDeclaration } from "../api/schema";
import { honoPath } from "../http/routes";
import { type AnalyticsEnv, DATASET_BINDING, requestPoint } from "./points";

/** Each declared route's operationId, by its method and path as Hono registered them. */
const OPERATIONS = new Map(
  (Object.values(ROUTES) as RouteDeclaration[]).map((route) => [
    `${route.method.toUpperCase()} ${honoPath(route.path)}`,
    route.operationId,
  ]),
);

const APP_IN_PATH = /^\/v1\/apps\/([^/]+)/;

/**
 * Records every request it sees: app, operation, status, error code and duration
 * (`requestPoint`). The point is written after the answer is made; `writeDataPoint` returns at
 * once and the runtime sends the point on its own, off the request path, so nothing is awaited
 * (Cloudflare: "writes are non-blocking, no need to await or use waitUntil").
 *
 * @example
 * api.use("/v1/*", recordRequests());
 */
export function recordRequests(): MiddlewareHandler {
  return async function recordRequests(c: Context, next: () => Promise<void>): Promise<void> {
    const dataset = (c.env as AnalyticsEnv | undefined)?.[DATASET_BINDING];
    if (dataset === undefined) return next();
    const start = Date.now();
    await next();
    const path = new URL(c.req.url).pathname;
    dataset.writeDataPoint(
      requestPoint({
        app: appIn(path),
        operation: operationOf(c),
        status: c.res.status,
        code: codeOf(c),
        ms: Date.now() - start,
      }),
    );
  };
}

/**
 * The operationId of the declared route Hono matched (a HEAD without a route of its own is its
 * GET), or `unknown`.
 */
function operationOf(c: Context): string {
  const routes = matchedRoutes(c);
  const find = (method: string) =>
    routes.map((route) => OPERATIONS.get(`${method} ${route.path}`)).find((id) => id !== undefined);
  const method = c.req.method;
  return find(method) ?? (method === "HEAD" ? find("GET") : undefined) ?? "unknown";
}

function appIn(path: string): string | undefined {
  const segment = APP_IN_PATH.exec(path)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The error code the answer carries, from the error `onError` answered (or the status). */
function codeOf(c: Context): string {
  const error = c.error;
  if (error instanceof SessionError) return error.code;
  const status = c.res.status;
  if (error !== undefined) return status === 503 ? "unavailable" : "internal";
  if (status === 404) return "no_route";
  return status >= 400 ? `status_${status}` : "";
}
