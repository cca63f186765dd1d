import type { JsonObject } from "./json.js";

/**
 * A session as a manager hands it out: what a `SessionData` is built from, what the RPC and HTTP
 * APIs return, and what a `ConflictError` carries.
 */
export interface SessionSnapshot {
  /** The session's key within its app. */
  key: string;
  /** Identity of this stored session; `null` while it has never been stored. */
  sid: string | null;
  /** 0 while never stored; +1 per stored change. */
  version: number;
  /** Creation time, seconds since the epoch. */
  created: number;
  /** Time of the last modification, or `null` if never modified. */
  lastModified: number | null;
  data: JsonObject;
  /** The user the session is signed in as (docs/DESIGN.md#users); absent when none. */
  user?: string;
}

/** A session as the store keeps it. */
export interface StoredSession extends SessionSnapshot {
  sid: string;
  /**
   * The end of the timeslice of the last access (`sliceEnd(period, t)` with the period of that
   * time): the last access happened before it. Expiry counts from here, so a later change of
   * `period` or `timeout` never ends a session sooner than `timeout` after its last access.
   */
  sliceEnd: number;
  /**
   * For each key changed since the last `clear`, the version that last changed it (deleted keys
   * included). The per-key merge (docs/DESIGN.md#commit-and-merge) reads it to know what changed after a snapshot.
   */
  keyVersions: Record<string, number>;
  /** The version of the last `clear` (0 if none). Every key counts as changed by it. */
  clearedVersion: number;
  /** For a session signed in as `user`: the handle that ends it from a listing. */
  handle?: string;
  /** For a session signed in as `user`: the labels the app gave at sign-in. */
  labels?: JsonObject;
}

/** A session not stored (yet) at `key`: version 0, no sid, no data, created `now`. */
export function unstoredSnapshot(key: string, now: number): SessionSnapshot {
  return { key, sid: null, version: 0, created: now, lastModified: null, data: {} };
}

/** The public part of a stored session. */
export function snapshotOf(stored: StoredSession): SessionSnapshot {
  const snapshot: SessionSnapshot = {
    key: stored.key,
    sid: stored.sid,
    version: stored.version,
    created: stored.created,
    lastModified: stored.lastModified,
    data: stored.data,
  };
  if (stored.user !== undefined) snapshot.user = stored.user;
  return snapshot;
}

/**
 * A session as every transport hands it out (RPC, HTTP, and `ConflictError.current` in process
 * too): the snapshot plus `isNew` (never stored: `version` 0) and `valid` (always true for a
 * session handed out; an ended session is not handed out at all). Fields in a fixed order, `user`
 * last and only for a signed-in session.
 */
export interface SessionView extends SessionSnapshot {
  isNew: boolean;
  valid: boolean;
}

/** The `SessionView` of a snapshot (extra fields of the input are left out). */
export function sessionView(snapshot: SessionSnapshot): SessionView {
  const view: SessionView = {
    key: snapshot.key,
    sid: snapshot.sid,
    version: snapshot.version,
    isNew: snapshot.version === 0,
    valid: true,
    created: snapshot.created,
    lastModified: snapshot.lastModified,
    data: snapshot.data,
  };
  if (snapshot.user !== undefined) view.user = snapshot.user;
  return view;
}

/**
 * What a commit answers, the same over RPC and HTTP: the stored session after it, or, when
 * nothing is stored after it, `{ key, stored: false, valid }` (`valid` false when the commit
 * invalidated the session, true when it changed no data of a session that was never stored).
 */
export type CommitResult = SessionView | NotStored;

/** A commit after which nothing is stored under the key. */
export interface NotStored {
  key: string;
  stored: false;
  valid: boolean;
}

/** The `CommitResult` of a commit: `stored` is what the engine returned (`null`: nothing). */
export function commitResult(
  key: string,
  stored: SessionSnapshot | null,
  invalidated: boolean,
): CommitResult {
  return stored === null ? { key, stored: false, valid: !invalidated } : sessionView(stored);
}

/** Whether a commit stored a session (a type guard for `CommitResult`). */
export function isStored(result: CommitResult): result is SessionView {
  return !("stored" in result);
}

/**
 * `JSON.stringify(sessionView(snapshot))`, built around `dataJson` (the session's data as
 * stored) so that the data is neither parsed nor stringified again: what a compact read
 * (`getViewJson`, `queryViewJson`) answers. The fields are those of `sessionView`, in its order.
 *
 * @example
 * sessionViewJson(snapshot, '{"n":1}') === JSON.stringify(sessionView(snapshot)); // when data is { n: 1 }
 */
export function sessionViewJson(snapshot: SessionSnapshot, dataJson: string): string {
  return (
    `{"key":${JSON.stringify(snapshot.key)},"sid":${JSON.stringify(snapshot.sid)}` +
    `,"version":${JSON.stringify(snapshot.version)},"isNew":${snapshot.version === 0}` +
    `,"valid":true,"created":${JSON.stringify(snapshot.created)}` +
    `,"lastModified":${JSON.stringify(snapshot.lastModified)},"data":${dataJson}` +
    (snapshot.user === undefined ? "}" : `,"user":${JSON.stringify(snapshot.user)}}`)
  );
}

/** The snapshot a view (or its JSON text) describes. */
export function snapshotOfView(view: SessionView | string): SessionSnapshot {
  const { key, sid, version, created, lastModified, data, user } =
    typeof view === "string" ? (JSON.parse(view) as SessionView) : view;
  const snapshot: SessionSnapshot = { key, sid, version, created, lastModified, data };
  if (user !== undefined) snapshot.user = user;
  return snapshot;
}

/** A view's head whose key and sid hold no escapes, and a plain integer version. */
const PLAIN_HEAD =
  /^\{"key":"([^"\\]*)","sid":(?:null|"([^"\\]*)"),"version":(0|[1-9][0-9]{0,15}),"isNew":/;

/**
 * The `key`, `sid` and `version` at the head of a view's JSON text as `sessionViewJson` makes it
 * (what an ETag needs), without parsing the data that follows them.
 */
export function sessionViewHead(json: string): Pick<SessionView, "key" | "sid" | "version"> {
  // The common head (a key and a sid with nothing to unescape) is read by one pattern, without
  // building and parsing a JSON text on every read; any other head is parsed.
  const plain = PLAIN_HEAD.exec(json);
  if (plain !== null) {
    return { key: plain[1] as string, sid: plain[2] ?? null, version: Number(plain[3]) };
  }
  // A quote inside the key is escaped (\"), so the first `,"isNew":` is the field itself.
  const end = json.indexOf(',"isNew":');
  if (end < 0) throw new TypeError("Not the JSON text of a session view.");
  return JSON.parse(`${json.slice(0, end)}}`);
}
