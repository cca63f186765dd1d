import type { SessionSnapshot } from "../src/session-view";
import { HttpError } from "./errors";

/**
 * Conditional requests on sessions (RFC 9110 §8.8.3, §13.1). A stored session's strong ETag is
 * `"<sid>:<version>"`: the sid names one stored life of the session (an incarnation), the version
 * one state of it, so the tag changes with every stored change and never comes back after the
 * session ended and another began at the same key. A session never stored has no ETag.
 */

/** The ETag of a session, or `undefined` for one never stored. */
export function etagOf(session: Pick<SessionSnapshot, "sid" | "version">): string | undefined {
  return session.sid === null ? undefined : `"${session.sid}:${session.version}"`;
}

/** What an `If-Match` names: the sid and version of the session the change was made to. */
export interface Precondition {
  sid: string;
  version: number;
}

const OWN_ETAG = /^"([^":]{1,64}):([1-9][0-9]{0,14})"$/;

/**
 * The session an `If-Match` header names. It must be one strong ETag of this API, as a read
 * answered it; anything else (`*`, a list, a weak or foreign tag) is refused with 400
 * `invalid_precondition`, since no version could be committed from it.
 */
export function parseIfMatch(header: string): Precondition {
  const match = OWN_ETAG.exec(header.trim());
  if (match === null) {
    throw new HttpError(
      400,
      "invalid_precondition",
      `If-Match must be the one strong ETag of the session as it was read (like "0b6c2f0e-…:3"), got ${JSON.stringify(header.slice(0, 80))}. Read the session (GET) for its ETag.`,
    );
  }
  return { sid: match[1] as string, version: Number(match[2]) };
}

/**
 * Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 asks for GET):
 * `*`, or a list of entity tags of which one is `etag` with or without `W/`.
 */
export function noneMatchNames(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  for (const tag of header.match(/(?:W\/)?"[^"]*"/g) ?? []) {
    if ((tag.startsWith("W/") ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}
