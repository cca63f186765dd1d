import type { JsonObject } from "./json.js";
import type { StoredSession } from "./session-view.js";

/**
 * Why a session ended. `regenerated`: its data moved to a new key (ID rotation, and sign-in);
 * `revoked`: ended with other sessions of its user, or by its handle (docs/DESIGN.md#users);
 * `evicted`: its user signed in past the app's `maxSessionsPerUser`, and it was the least
 * recently active.
 */
export type EndReason = "expired" | "invalidated" | "regenerated" | "revoked" | "evicted";

/** Every end reason, in a fixed order (for figures and documents that list them). */
export const END_REASONS: readonly EndReason[] = [
  "expired",
  "invalidated",
  "regenerated",
  "revoked",
  "evicted",
];

/** The JSON body of a session event, as in-process listeners and the Queue receive it. */
export interface SessionEventBody {
  /** Deterministic per session and event type: consumers drop duplicates by it. */
  id: string;
  type: "begin" | "end";
  app: string;
  key: string;
  reason?: EndReason;
  created: number;
  lastModified: number | null;
  /** When the event happened (seconds). */
  at: number;
  /** The session's data, on end events. */
  data?: JsonObject;
  /** Set (and `data` left out) when the data was too large for one Queue message. */
  dataOmitted?: true;
}

/** The id of a session's event of one type: the same however often the event is delivered. */
export function eventId(sid: string, type: "begin" | "end"): string {
  return `${sid}:${type}`;
}

/** Fires once when a new session is first stored. */
export class SessionBeginEvent implements SessionEventBody {
  readonly id: string;
  readonly type = "begin" as const;
  readonly app: string;
  readonly key: string;
  readonly created: number;
  readonly lastModified: number | null;
  readonly at: number;

  constructor(app: string, session: StoredSession, at: number) {
    this.id = eventId(session.sid, "begin");
    this.app = app;
    this.key = session.key;
    this.created = session.created;
    this.lastModified = session.lastModified;
    this.at = at;
  }

  toJSON(): SessionEventBody {
    const { id, type, app, key, created, lastModified, at } = this;
    return { id, type, app, key, created, lastModified, at };
  }
}

/** Fires once when a stored session ends, with the data it held. */
export class SessionEndEvent implements SessionEventBody {
  readonly id: string;
  readonly type = "end" as const;
  readonly app: string;
  readonly key: string;
  readonly reason: EndReason;
  readonly created: number;
  readonly lastModified: number | null;
  readonly at: number;
  readonly data: JsonObject;

  constructor(app: string, session: StoredSession, reason: EndReason, at: number) {
    this.id = eventId(session.sid, "end");
    this.app = app;
    this.key = session.key;
    this.reason = reason;
    this.created = session.created;
    this.lastModified = session.lastModified;
    this.at = at;
    this.data = session.data;
  }

  toJSON(): SessionEventBody {
    const { id, type, app, key, reason, created, lastModified, at, data } = this;
    return { id, type, app, key, reason, created, lastModified, at, data };
  }
}

/** Either event. */
export type SessionEvent = SessionBeginEvent | SessionEndEvent;
