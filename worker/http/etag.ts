import type { SessionSnapshot } from "../../src/core/session-view";
import { HttpError } from "./errors";

/**
 * Conditional requests on sessions (RFC 9110 §8.8.3, §13). A stored session's strong ETag is
 * `"<sid>:<version>"`: the sid names one stored life of the session (an incarnation), the version
 * one state of it, so the tag changes with every stored change and never comes back after the
 * session ended and another began at the same key. A session never stored has no ETag.
 */

/** The ETag of a session, or `undefined` for one never stored. */
export function etagOf(session: Pick<SessionSnapshot, "sid" | "version">): string | undefined {
  return session.sid === null ? undefined : `"${session.sid}:${session.version}"`;
}

/** What an ETag of this API names: the sid and version of one state of a session. */
export interface Precondition {
  sid: string;
  version: number;
}

/** One entity tag of a header: its opaque part (quotes included) and whether it is weak. */
export interface EntityTag {
  tag: string;
  weak: boolean;
}

/** An `If-Match` or `If-None-Match` value: `*`, or a list of entity tags. */
export type EntityTags = "*" | EntityTag[];

/** The preconditions of a request (RFC 9110 §13.1.1, §13.1.2); at least one is present. */
export interface Conditions {
  ifMatch?: EntityTags;
  ifNoneMatch?: EntityTags;
}

/** How the preconditions evaluate against the session as it is (RFC 9110 §13.2.2). */
export type Verdict = "pass" | "not_modified" | "failed";

const OWN_ETAG = /^"([^":]{1,64}):([1-9][0-9]{0,14})"$/;

/** One entity tag and the comma after it (RFC 9110 §8.8.3: `etagc` is %x21 / %x23-7E / obs-text). */
const LIST_ELEMENT = /^[ \t]*(?:(W\/)?("[\x21\x23-\x7E\x80-\xFF]*"))?[ \t]*(?:,|$)/;

/**
 * The preconditions a request carries, or `undefined` for none. A header that is neither `*`
 * nor a list of entity tags is refused with 400 `invalid_precondition` (nothing is looked at or
 * written), and so is an empty one: a runtime may drop an empty header on the way, so an empty
 * value is never a precondition to rely on.
 */
export function conditionsOf(header: (name: string) => string | undefined): Conditions | undefined {
  const ifMatch = header("If-Match");
  const ifNoneMatch = header("If-None-Match");
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  const conditions: Conditions = {};
  if (ifMatch !== undefined) conditions.ifMatch = parseEntityTags("If-Match", ifMatch);
  if (ifNoneMatch !== undefined) {
    conditions.ifNoneMatch = parseEntityTags("If-None-Match", ifNoneMatch);
  }
  return conditions;
}

/** `*`, or a comma-separated list of entity tags (empty elements allowed, as in any HTTP list). */
export function parseEntityTags(name: string, header: string): EntityTags {
  if (header.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  let rest = header;
  while (rest.trim() !== "") {
    const element = LIST_ELEMENT.exec(rest);
    if (element === null || element[0] === "") throw invalidHeader(name, header);
    if (element[2] !== undefined) tags.push({ tag: element[2], weak: element[1] !== undefined });
    rest = rest.slice(element[0].length);
  }
  if (tags.length === 0) throw invalidHeader(name, header);
  return tags;
}

function invalidHeader(name: string, header: string): HttpError {
  return new HttpError(
    "invalid_precondition",
    `${name} must be * or a list of ETags as this API sends them (like "0b6c2f0e-…:3"), got ${JSON.stringify(header.slice(0, 80))}. Read the session (GET) for its ETag.`,
  );
}

/**
 * The one stored session an `If-Match` names when it is a single strong ETag of this API, and
 * no `If-None-Match` comes with it: the commit can then be made exactly to that version without
 * reading the session first. `undefined` for any other preconditions.
 */
export function exactTarget(conditions: Conditions): Precondition | undefined {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifNoneMatch !== undefined || ifMatch === undefined || ifMatch === "*") return undefined;
  const [only] = ifMatch;
  if (ifMatch.length !== 1 || only === undefined || only.weak) return undefined;
  return ownTag(only.tag);
}

/** The sid and version an ETag of this API names, or `undefined` for another tag. */
export function ownTag(tag: string): Precondition | undefined {
  const match = OWN_ETAG.exec(tag);
  return match === null ? undefined : { sid: match[1] as string, version: Number(match[2]) };
}

/**
 * Evaluates the preconditions in the order of RFC 9110 §13.2.2 against `etag`, the current ETag
 * (`undefined` when no session is stored): `If-Match` first (`*` holds when a session exists; a
 * list when one of its tags is the current one by strong comparison, so a weak tag never
 * holds), then `If-None-Match` (`*` fails when a session exists; a list when one of its tags is
 * the current one by weak comparison). A failing `If-None-Match` is `not_modified` for a read
 * (`safe`: GET, HEAD; answered 304) and `failed` otherwise (412), as a failing `If-Match` is.
 */
export function evaluate(conditions: Conditions, etag: string | undefined, safe: boolean): Verdict {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined) {
    const holds =
      etag !== undefined &&
      (ifMatch === "*" || ifMatch.some(({ tag, weak }) => !weak && tag === etag));
    if (!holds) return "failed";
  }
  if (ifNoneMatch !== undefined && etag !== undefined) {
    const names = ifNoneMatch === "*" || ifNoneMatch.some(({ tag }) => tag === etag);
    if (names) return safe ? "not_modified" : "failed";
  }
  return "pass";
}
