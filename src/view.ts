import type { Result } from "./result.js";
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

/** How the text of a compact read's successful answer begins. */
const OK_HEAD = '{"ok":true,"value":';

/**
 * A compact read's answer as one string, cheaper to carry over RPC than a `Result` object: the
 * `Result` as JSON text, the view's JSON text inside it as it is (`null` when there is none).
 */
export function resultText(result: Result<string | null>): string {
  if (!result.ok) return JSON.stringify(result);
  return `${OK_HEAD}${result.value ?? "null"}}`;
}

/**
 * The `Result` a compact read's answer holds, the view left as JSON text: a successful answer is
 * only sliced, never parsed.
 */
export function resultOfText(text: string): Result<string | null> {
  if (!text.startsWith(OK_HEAD)) return JSON.parse(text) as Result<string | null>;
  const view = text.slice(OK_HEAD.length, -1);
  return { ok: true, value: view === "null" ? null : view };
}
