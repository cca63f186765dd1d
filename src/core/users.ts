import { type Changeset, parseChangeset } from "./changeset.js";
import { InvalidInputError } from "./errors.js";
import { assertJsonValue, type JsonObject } from "./json.js";

/** The longest user identifier, in UTF-16 code units. */
export const MAX_USER_LENGTH = 256;

/** The most bytes a session's sign-in labels take, serialized as JSON. */
export const MAX_LABELS_BYTES = 1024;

/**
 * Who a session is signed in as, as an object needs it: the user's identifier, and the routing tag
 * that puts every session of the user in one object (`userTag`).
 */
export interface UserRef {
  user: string;
  tag: string;
}

/** A sign-in: the user, and the labels the app gives the session (a device name, a user agent). */
export interface SignInBinding extends UserRef {
  labels: JsonObject;
}

/**
 * One live session of a user, as a listing shows it. The `handle` ends it (and nothing else: it
 * never reads or takes over the session, and says nothing about its key).
 */
export interface UserSession {
  handle: string;
  /** When the session began (seconds). */
  created: number;
  /** Its last access happened at or after this moment, within one period (seconds). */
  lastActive: number;
  /** When it expires unless it is used again (seconds). */
  expires: number;
  /** The labels given at sign-in. */
  labels: JsonObject;
  /** Whether it is the session the caller named as its own. */
  current: boolean;
}

/** A user's live sessions, as a listing answers them: most recently active first. */
export interface UserSessions {
  user: string;
  sessions: UserSession[];
}

/** Which of a user's sessions to end: all, all but one (by key), or one (by handle). */
export type EndSelection = { all: true } | { except: string } | { handle: string };

/** Throws `InvalidInputError` (`invalid_user`) unless `user` is a user identifier. */
export function assertUser(user: unknown): asserts user is string {
  if (typeof user !== "string" || user.length === 0 || user.length > MAX_USER_LENGTH) {
    throw new InvalidInputError(invalidUserMessage(user), "invalid_user");
  }
}

/**
 * What `assertUser` says about a bad user identifier (the HTTP API's schema says the same): its
 * length or type, never its value.
 */
export function invalidUserMessage(user: unknown): string {
  return `Invalid user ${typeof user === "string" ? `(${user.length} characters)` : `(a ${user === null ? "null" : typeof user})`}: a user identifier is a string of 1 to ${MAX_USER_LENGTH} characters, such as the user's ID in the app's database.`;
}

/**
 * Checks sign-in labels that came from outside: a JSON object of at most `MAX_LABELS_BYTES`
 * serialized (`{}` when none are given). Throws `InvalidInputError` (`invalid_labels`).
 */
export function parseLabels(labels: unknown): JsonObject {
  if (labels === undefined) return {};
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) {
    throw invalidLabels('labels must be a JSON object, such as { "device": "Laptop" }');
  }
  for (const [k, v] of Object.entries(labels)) {
    try {
      assertJsonValue(k, v);
    } catch (error) {
      throw invalidLabels((error as Error).message);
    }
  }
  const bytes = new TextEncoder().encode(JSON.stringify(labels)).length;
  if (bytes > MAX_LABELS_BYTES) {
    throw invalidLabels(
      `labels take ${bytes} bytes as JSON, more than ${MAX_LABELS_BYTES}: keep them to a device name and a short user agent`,
    );
  }
  return structuredClone(labels) as JsonObject;
}

function invalidLabels(what: string): InvalidInputError {
  return new InvalidInputError(`Invalid sign-in labels: ${what}.`, "invalid_labels");
}

/**
 * The routing tag of a user's sessions in `app`: the first 16 hex digits of SHA-256 over the app
 * and the user. Every session of the user gets a key `tag!…`, so they live in one object at any
 * shard count; the user's identifier never appears in a key.
 */
export async function userTag(app: string, user: string): Promise<string> {
  const bytes = new TextEncoder().encode(`edge-sessions user\u0000${app}\u0000${user}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (let i = 0; i < 8; i++) hex += (digest[i] as number).toString(16).padStart(2, "0");
  return hex;
}

/** A fresh key for a session signed in with `tag`: `tag!` and 32 random URL-safe characters. */
export function signedInKey(tag: string): string {
  return `${tag}!${randomText(24)}`;
}

/** A fresh handle: 22 random URL-safe characters, unrelated to the session's key. */
export function newHandle(): string {
  return randomText(16);
}

function randomText(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  let text = "";
  for (const byte of random) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Checks an end selection that came from outside; throws `InvalidInputError`. */
export function parseEndSelection(input: unknown): EndSelection {
  const s = input as Partial<Record<"all" | "except" | "handle", unknown>> | null;
  if (s !== null && typeof s === "object") {
    if (s.all === true && s.except === undefined && s.handle === undefined) return { all: true };
    if (typeof s.except === "string" && s.handle === undefined && s.all === undefined) {
      return { except: s.except };
    }
    if (typeof s.handle === "string" && s.except === undefined && s.all === undefined) {
      return { handle: s.handle };
    }
  }
  throw new InvalidInputError(
    'Say which sessions to end: { all: true }, { except: "<the caller\'s own session key>" } or { handle: "<a handle from the listing>" }.',
    "invalid_input",
  );
}

/** Checks a binding that came over RPC (a router made it): a user, a tag, labels. */
export function parseBinding(input: unknown): SignInBinding {
  const b = input as Partial<Record<keyof SignInBinding, unknown>> | null;
  if (b === null || typeof b !== "object") {
    throw new InvalidInputError("A sign-in names { user, tag, labels }.", "invalid_input");
  }
  assertUser(b.user);
  return { user: b.user, tag: parseTag(b.tag), labels: parseLabels(b.labels) };
}

/** Checks a user reference that came over RPC: a user and its tag. */
export function parseUserRef(input: unknown): UserRef {
  const r = input as Partial<Record<keyof UserRef, unknown>> | null;
  if (r === null || typeof r !== "object") {
    throw new InvalidInputError("A user reference is { user, tag }.", "invalid_input");
  }
  assertUser(r.user);
  return { user: r.user, tag: parseTag(r.tag) };
}

function parseTag(tag: unknown): string {
  if (typeof tag !== "string" || !/^[0-9a-f]{16}$/.test(tag)) {
    throw new InvalidInputError(
      "A user's routing tag is 16 hex digits (userTag(app, user)).",
      "invalid_input",
    );
  }
  return tag;
}

/** Checks the content a sign-in carries to another object: its data and times. */
export function parseContent(input: unknown): {
  created: number;
  lastModified: number | null;
  data: JsonObject;
} {
  const c = input as Partial<Record<"created" | "lastModified" | "data", unknown>> | null;
  if (
    c === null ||
    typeof c !== "object" ||
    typeof c.created !== "number" ||
    !(c.lastModified === null || typeof c.lastModified === "number") ||
    c.data === null ||
    typeof c.data !== "object" ||
    Array.isArray(c.data)
  ) {
    throw new InvalidInputError(
      "A sign-in's content is { created, lastModified, data }.",
      "invalid_input",
    );
  }
  return { created: c.created, lastModified: c.lastModified, data: c.data as JsonObject };
}

/**
 * Checks the changeset a sign-in carries (`{ key, sid, version, set?, ... }`): a changeset as
 * `parseChangeset` takes it, without `invalidate` or `newKey` (the sign-in rotates the key itself).
 */
export function parseSignInChanges(changes: unknown): Changeset {
  const key = (changes as { key?: unknown } | null)?.key as string;
  const parsed = parseChangeset(key, changes);
  if (parsed.newKey !== undefined || parsed.invalidate) {
    throw new InvalidInputError(
      "A sign-in's changes neither invalidate nor rotate: the sign-in rotates the key itself.",
      "invalid_changeset",
    );
  }
  return parsed;
}
