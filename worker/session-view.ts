import type { JsonObject, SessionSnapshot } from "../src/index";

/**
 * A session as the HTTP API shows it: the snapshot plus `isNew` (never stored, version 0) and
 * `valid` (always true for a session handed out; an ended session is not handed out at all).
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

/** The HTTP form of a snapshot, fields in a fixed order. */
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
