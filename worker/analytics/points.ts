/**
 * The data points the worker writes to Workers Analytics Engine when a `SESSION_METRICS` dataset
 * is bound (docs/operating.md#analytics-engine): one per request to the HTTP API, one per session
 * event its Queue consumer receives. Both kinds share one dataset; `blob1` tells them apart, and
 * the app is the index (the sampling key) and `blob2`, so an app's points are sampled together
 * and can be grouped by. The positions are the SQL columns the documented queries read: change
 * them only together with the docs.
 */
import { APP_NAME_PATTERN } from "../../src/core/names";

/** The binding's name in wrangler.toml (`[[analytics_engine_datasets]] binding = …`). */
export const DATASET_BINDING = "SESSION_METRICS";

/** An env that may carry the dataset. */
export type AnalyticsEnv = { [DATASET_BINDING]?: AnalyticsEngineDataset };

/** What the worker saw of one HTTP API request. */
export interface RequestFigures {
  /** The app in the path, if any (a name that is not a valid app name is written as ""). */
  app: string | undefined;
  /** The route's `operationId` in the OpenAPI document (`commit`, `query`, …), or `unknown`. */
  operation: string;
  status: number;
  /** The error code of a refused request (`conflict`, `unauthorized`, …); "" for a success. */
  code: string;
  /** Time from the request's arrival to its answer, in milliseconds. */
  ms: number;
}

/**
 * A request's point: `index1` app, `blob1` "request", `blob2` app, `blob3` operation, `blob4`
 * error code ("" for a success), `double1` HTTP status, `double2` duration (ms).
 *
 * @example
 * requestPoint({ app: "shop", operation: "commit", status: 409, code: "conflict", ms: 12 });
 */
export function requestPoint(figures: RequestFigures): AnalyticsEngineDataPoint {
  const app = appOf(figures.app);
  return {
    indexes: [app],
    blobs: ["request", app, figures.operation, figures.code],
    doubles: [figures.status, figures.ms],
  };
}

/** The fields of a session event (`SessionEventBody`) that its point reads. */
export interface EventFigures {
  id: string;
  type: "begin" | "end";
  app: unknown;
  reason?: unknown;
  created?: unknown;
  at?: unknown;
}

/**
 * A session event's point: `index1` app, `blob1` "event", `blob2` app, `blob3` type (`begin`,
 * `end`), `blob4` end reason ("" for a begin), `blob5` the event's id (a redelivered event has
 * the same one), `double1` time alive in seconds (`at - created`; 0 for a begin).
 *
 * @example
 * eventPoint({ id: "s1:end", type: "end", app: "shop", reason: "expired", created: 10, at: 1210 });
 */
export function eventPoint(event: EventFigures): AnalyticsEngineDataPoint {
  const app = appOf(event.app);
  const reason = event.type === "end" && typeof event.reason === "string" ? event.reason : "";
  const alive =
    event.type === "end" && typeof event.at === "number" && typeof event.created === "number"
      ? Math.max(0, event.at - event.created)
      : 0;
  return {
    indexes: [app],
    blobs: ["event", app, event.type, reason, event.id.slice(0, 256)],
    doubles: [alive],
  };
}

/** The app as written: a valid app name (at most 64 ASCII characters), or "". */
function appOf(app: unknown): string {
  return typeof app === "string" && APP_NAME_PATTERN.test(app) ? app : "";
}
