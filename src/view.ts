import type { JsonObject } from "./json";
import type { SessionSnapshot } from "./stored-session";

/**
 * A session as the HTTP API shows it, and as compact reads carry it: the snapshot plus `isNew`
 * (never stored, version 0) and `valid` (always true for a session handed out; an ended session
 * is not handed out at all).
 */
export interface SessionView {
  key: string;
  sid: string | null;
  version: number;
  isNew: boolean;
  valid: boolean;
  created: number;
  lastModified: number | null;
  data: JsonObject;
}

/** The view of a snapshot, fields in a fixed order. */
export function sessionView(snapshot: SessionSnapshot): SessionView {
  return {
    key: snapshot.key,
    sid: snapshot.sid,
    version: snapshot.version,
    isNew: snapshot.version === 0,
    valid: true,
    created: snapshot.created,
    lastModified: snapshot.lastModified,
    data: snapshot.data,
  };
}

/**
 * `JSON.stringify(sessionView(snapshot))`, built around `dataJson` (the session's data as
 * stored) so that the data is neither parsed nor stringified again: what a compact read answers.
 *
 * @example
 * sessionViewJson(snapshot, '{"n":1}') === JSON.stringify(sessionView(snapshot)); // when data is { n: 1 }
 */
export function sessionViewJson(snapshot: SessionSnapshot, dataJson: string): string {
  return (
    `{"key":${JSON.stringify(snapshot.key)},"sid":${JSON.stringify(snapshot.sid)}` +
    `,"version":${JSON.stringify(snapshot.version)},"isNew":${snapshot.version === 0}` +
    `,"valid":true,"created":${JSON.stringify(snapshot.created)}` +
    `,"lastModified":${JSON.stringify(snapshot.lastModified)},"data":${dataJson}}`
  );
}

/** The snapshot a view (or its JSON text) describes. */
export function snapshotOfView(view: SessionView | string): SessionSnapshot {
  const { key, sid, version, created, lastModified, data } =
    typeof view === "string" ? (JSON.parse(view) as SessionView) : view;
  return { key, sid, version, created, lastModified, data };
}
