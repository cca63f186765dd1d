import type { RemoteSessionManager } from "../client/factory.js";
import type { SessionData } from "../core/data.js";
import { assertJsonValue, type JsonObject, jsonEqual } from "../core/json.js";
import { EXPIRES_KEY } from "./expiry.js";

/**
 * What a React Router session was read as: the edge session it stands for (its `sid` and
 * `version` are what a commit is checked against) and the data React Router was given, so that
 * a commit sends only what the app changed since (docs/react-router.md#concurrent-requests).
 */
export class ReadSnapshot {
  readonly session: SessionData;
  readonly manager: RemoteSessionManager;
  /** The data as React Router last saw it stored: at the read, then after each commit. */
  synced: JsonObject;

  constructor(session: SessionData, manager: RemoteSessionManager) {
    this.session = session;
    this.manager = manager;
    this.synced = appData(session);
  }
}

/**
 * The session's data as React Router sees it: without the reserved expiry key, and a copy the app
 * may change in place (a session's own values are frozen), as React Router's storages give it.
 */
export function appData(session: SessionData): JsonObject {
  const data = structuredClone(session.toJSON());
  delete data[EXPIRES_KEY];
  return data;
}

/**
 * Records on `session` the changes from `before` to `after` (keys set to another value, keys
 * removed); keys the app did not touch are left alone, so that another request's change to them
 * merges. Every value is checked first: a value that is not JSON throws a `TypeError` naming
 * its key, and nothing is recorded.
 */
export function recordChanges(session: SessionData, before: JsonObject, after: object): void {
  const entries = Object.entries(after).filter(([key]) => key !== EXPIRES_KEY);
  for (const [key, value] of entries) assertJsonValue(key, value);
  const next = new Map(entries as [string, JsonObject[string]][]);
  for (const key of Object.keys(before)) if (!next.has(key)) session.delete(key);
  for (const [key, value] of next) {
    if (!Object.hasOwn(before, key) || !jsonEqual(before[key], value)) session.set(key, value);
  }
}
