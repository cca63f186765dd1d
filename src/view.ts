import type { SessionSnapshot, SessionView } from "./stored-session.js";

/**
 * `JSON.stringify(sessionView(snapshot))`, built around `dataJson` (the session's data as
 * stored) so that the data is neither parsed nor stringified again: what a compact read
 * (`getView`, `queryView`) answers. The fields are those of `sessionView`, in its order.
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

/**
 * The `key`, `sid` and `version` at the head of a view's JSON text as `sessionViewJson` makes it
 * (what an ETag needs), without parsing the data that follows them.
 */
export function sessionViewHead(json: string): Pick<SessionView, "key" | "sid" | "version"> {
  // A quote inside the key is escaped (\"), so the first `,"isNew":` is the field itself.
  const end = json.indexOf(',"isNew":');
  if (end < 0) throw new TypeError("Not the JSON text of a session view.");
  return JSON.parse(`${json.slice(0, end)}}`);
}
