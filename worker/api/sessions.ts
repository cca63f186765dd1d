/**
 * The values of the session routes: app names and session keys (the path parameters), a
 * session as the API shows it, and the bodies that `PATCH` and `regenerate` read.
 */
import * as v from "valibot";
import {
  APP_NAME_PATTERN,
  invalidAppNameMessage,
  invalidSessionKeyMessage,
  SESSION_KEY_PATTERN,
} from "../../src/core/names";

const appNameMessage = (issue: v.BaseIssue<unknown>) => invalidAppNameMessage(issue.input);
const sessionKeyMessage = (issue: v.BaseIssue<unknown>) => invalidSessionKeyMessage(issue.input);

/** An app name (path parameter `app`). */
export const AppNameSchema = v.pipe(
  v.string(appNameMessage),
  v.regex(APP_NAME_PATTERN, appNameMessage),
  v.description('1-64 characters of a-z, 0-9, "_" and "-", starting with a letter or digit.'),
);

/** A session key (path parameter `key`, and `newKey`). */
export const SessionKeySchema = v.pipe(
  v.string(sessionKeyMessage),
  v.regex(SESSION_KEY_PATTERN, sessionKeyMessage),
  v.description(
    '1-256 characters of A-Z, a-z, 0-9, ".", "_", "~", ":", "@" and "-", optionally after a routing tag and one "!" (a signed-in session\'s key: tag!rest); never needs escaping in a path.',
  ),
);

/** Session data: an object of keys to JSON values. */
export const SessionDataSchema = v.pipe(
  v.record(v.string(), v.unknown()),
  v.description("The session's data: keys to JSON values."),
);

const Seconds = v.pipe(v.number(), v.description("Seconds since the epoch."));

/** A session as the API shows it. */
export const SessionSchema = v.pipe(
  v.strictObject({
    key: v.string(),
    sid: v.pipe(
      v.nullable(v.string()),
      v.description("Identifies one stored life of the session; null until it is stored."),
    ),
    version: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("0 until stored; grows by one with every stored change."),
    ),
    isNew: v.pipe(v.boolean(), v.description("version === 0: never stored.")),
    valid: v.pipe(v.boolean(), v.description("Always true for a session handed out.")),
    created: Seconds,
    lastModified: v.nullable(Seconds),
    data: SessionDataSchema,
    user: v.optional(
      v.pipe(
        v.string(),
        v.description(
          "The user the session is signed in as (POST .../sign-in); absent when it is signed in as nobody.",
        ),
      ),
    ),
  }),
  v.title("Session"),
);

/** The answer to a commit after which nothing is stored. */
export const NotStoredSchema = v.pipe(
  v.strictObject({
    key: v.string(),
    stored: v.literal(false),
    valid: v.pipe(
      v.boolean(),
      v.description(
        "false when the commit invalidated the session; true for a new session committed without changes.",
      ),
    ),
  }),
  v.title("NotStored"),
);

const changesetMessage = (what: string) => () => what;

/**
 * Whether a strict object's issue is an unknown key of an object, rather than a value that is
 * not an object at all (Valibot takes an array for an object whose keys are "0", "1", …).
 */
export function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.expected === "never" && !Array.isArray(issue.path?.[0]?.input);
}

const VERSION_MESSAGE = changesetMessage(
  '"version" must be the integer version of the snapshot the changes were made to (0 for a new session)',
);

const SID_MESSAGE = changesetMessage('"sid" must be the session\'s sid string, or null');

const DELETE_MESSAGE = changesetMessage('"delete" must be an array of key strings');

/** The fields of a changeset, as `PATCH` takes them. */
const CHANGESET_ENTRIES = {
  key: v.optional(
    v.pipe(
      v.string(changesetMessage('"key" must be the session key of the path, or left out')),
      v.description("The session key; when given, it must be the one of the path."),
    ),
  ),
  version: v.optional(
    v.pipe(
      v.number(VERSION_MESSAGE),
      v.integer(VERSION_MESSAGE),
      v.minValue(0, VERSION_MESSAGE),
      v.description(
        "The version of the session the changes were made to (0 for a new one). Required, unless If-Match names it.",
      ),
    ),
  ),
  sid: v.optional(
    v.pipe(
      v.nullable(
        v.pipe(v.string(SID_MESSAGE), v.minLength(1, SID_MESSAGE), v.maxLength(64, SID_MESSAGE)),
      ),
      v.description(
        "The sid of the session the changes were made to. Required with a version above 0, unless If-Match names it.",
      ),
    ),
  ),
  set: v.optional(
    v.pipe(
      v.record(
        v.string(),
        v.unknown(),
        changesetMessage('"set" must be an object of keys to JSON values'),
      ),
      v.description("Keys to write, with their JSON values (applied last)."),
    ),
  ),
  delete: v.optional(
    v.pipe(
      v.array(v.string(DELETE_MESSAGE), DELETE_MESSAGE),
      v.description("Keys to remove (applied after clear)."),
    ),
  ),
  clear: v.optional(
    v.pipe(
      v.boolean(changesetMessage('"clear" must be true or false')),
      v.description("Empty the data first."),
    ),
  ),
  invalidate: v.optional(
    v.pipe(
      v.boolean(changesetMessage('"invalidate" must be true or false')),
      v.description("End the session (end event `invalidated`)."),
    ),
  ),
  lastModified: v.optional(
    v.pipe(
      v.nullable(v.number(changesetMessage('"lastModified" must be a time in seconds, or null'))),
      v.description(
        "Seconds since the epoch; stamped with the current time when the data changes, unless given.",
      ),
    ),
  ),
  newKey: v.optional(
    v.pipe(
      v.string(sessionKeyMessage),
      v.regex(SESSION_KEY_PATTERN, sessionKeyMessage),
      v.description(
        "ID rotation with the changes, in the same transaction: the stored session moves to this key (a new sid, version 1) and the old one ends (reason `regenerated`). Only with the version (above 0) and sid of a stored session; never with invalidate.",
      ),
    ),
  ),
};

/** A `PATCH` body: the changes a unit of work made to the session at the path. */
export const ChangesetSchema = v.pipe(
  v.strictObject(CHANGESET_ENTRIES, (issue) =>
    isUnknownKey(issue)
      ? `unknown field ${JSON.stringify(issue.input)}`
      : "a changeset must be a JSON object like { version, set?, delete?, clear?, invalidate?, lastModified?, newKey? }",
  ),
  v.title("Changeset"),
);

/** The changes a sign-in commits with it: a changeset without `invalidate` and `newKey`. */
const { invalidate: _invalidate, newKey: _newKey, ...SIGN_IN_CHANGES_ENTRIES } = CHANGESET_ENTRIES;

/** The `changes` of a sign-in body. */
export const SignInChangesSchema = v.pipe(
  v.strictObject(
    {
      ...SIGN_IN_CHANGES_ENTRIES,
      version: v.pipe(
        v.number(VERSION_MESSAGE),
        v.integer(VERSION_MESSAGE),
        v.minValue(0, VERSION_MESSAGE),
        v.description(
          "The version of the session the changes were made to (0 for a new one, never stored).",
        ),
      ),
    },
    (issue) =>
      isUnknownKey(issue)
        ? `unknown field ${JSON.stringify(issue.input)} (a sign-in's changes neither invalidate nor rotate: the sign-in rotates the key itself)`
        : "the changes must be a JSON object like { version, sid?, set?, delete?, clear?, lastModified? }",
  ),
  v.title("SignInChanges"),
  v.description(
    "The session's uncommitted changes, made to the version (and sid) of the session as read: committed with the sign-in, as one commit.",
  ),
);

/** The body of a regenerate request. */
export const RegenerateRequestSchema = v.pipe(
  v.strictObject(
    { newKey: SessionKeySchema },
    'A regenerate body must be { "newKey": "<the new session key>" }.',
  ),
  v.title("RegenerateRequest"),
);
