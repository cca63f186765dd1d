/**
 * The HTTP API, declared once: every route with its parameters, headers, body and every answer
 * (each status, each error code, each body shape). `worker/app.ts` registers its routes and
 * validates requests from these declarations, and `worker/openapi.ts` turns them into the
 * OpenAPI 3.1 document served at `GET /v1/openapi.json` (and kept as `openapi.json`). Change a
 * shape here and both follow; the contract tests check every answer against the document.
 *
 * Schemas are Valibot schemas: they validate requests in the worker and convert to JSON Schema
 * (2020-12, the dialect of OpenAPI 3.1) for the document. Rules that JSON Schema cannot say
 * (`period` at most `timeout`, `sid` required from version 1 on, a key both set and deleted) stay
 * with the core (`parseChangeset`, `parseAppSettings`), which every transport shares.
 */
import * as v from "valibot";
import {
  APP_NAME_PATTERN,
  invalidAppNameMessage,
  invalidSessionKeyMessage,
  SESSION_KEY_PATTERN,
} from "../src/names";
import { MAX_SESSION_BYTES_LIMIT, MAX_SHARDS, MAX_TIMEOUT } from "../src/settings";

// ---------------------------------------------------------------------------------------------
// Names, sessions and settings

const appNameMessage = (issue: v.BaseIssue<unknown>) => invalidAppNameMessage(issue.input);
const sessionKeyMessage = (issue: v.BaseIssue<unknown>) => invalidSessionKeyMessage(issue.input);

/** An app name (path parameter `app`). */
export const AppName = v.pipe(
  v.string(appNameMessage),
  v.regex(APP_NAME_PATTERN, appNameMessage),
  v.description('1-64 characters of a-z, 0-9, "_" and "-", starting with a letter or digit.'),
);

/** A session key (path parameter `key`, and `newKey`). */
export const SessionKey = v.pipe(
  v.string(sessionKeyMessage),
  v.regex(SESSION_KEY_PATTERN, sessionKeyMessage),
  v.description(
    '1-256 characters of A-Z, a-z, 0-9, ".", "_", "~", ":", "@" and "-" (never needs escaping in a path).',
  ),
);

/** Session data: an object of keys to JSON values. */
export const SessionData = v.pipe(
  v.record(v.string(), v.unknown()),
  v.description("The session's data: keys to JSON values."),
);

const Seconds = v.pipe(v.number(), v.description("Seconds since the epoch."));

/** A session as the API shows it. */
export const Session = v.pipe(
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
    data: SessionData,
  }),
  v.title("Session"),
);

/** The answer to a commit after which nothing is stored. */
export const NotStored = v.pipe(
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
function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.expected === "never" && !Array.isArray(issue.path?.[0]?.input);
}

const VERSION_MESSAGE = changesetMessage(
  '"version" must be the integer version of the snapshot the changes were made to (0 for a new session)',
);

/** A `PATCH` body: the changes a unit of work made to the session at the path. */
export const Changeset = v.pipe(
  v.strictObject(
    {
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
            v.pipe(
              v.string(changesetMessage('"sid" must be the session\'s sid string, or null')),
              v.minLength(1, changesetMessage('"sid" must be the session\'s sid string, or null')),
              v.maxLength(64, changesetMessage('"sid" must be the session\'s sid string, or null')),
            ),
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
          v.array(
            v.string(changesetMessage('"delete" must be an array of key strings')),
            changesetMessage('"delete" must be an array of key strings'),
          ),
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
          v.nullable(
            v.number(changesetMessage('"lastModified" must be a time in seconds, or null')),
          ),
          v.description(
            "Seconds since the epoch; stamped with the current time when the data changes, unless given.",
          ),
        ),
      ),
      newKey: v.optional(
        v.pipe(
          v.string(changesetMessage('"newKey" must be a session key string')),
          v.description(
            "ID rotation with the changes, in the same transaction: the stored session moves to this key (a new sid, version 1) and the old one ends (reason `regenerated`). Only with the version (above 0) and sid of a stored session; never with invalidate.",
          ),
        ),
      ),
    },
    (issue) =>
      isUnknownKey(issue)
        ? `unknown field ${JSON.stringify(issue.input)}`
        : "a changeset must be a JSON object like { version, set?, delete?, clear?, invalidate?, lastModified?, newKey? }",
  ),
  v.title("Changeset"),
);

const SETTINGS_SHAPE = "timeout, period, maxSessionBytes, beginEvents, shards";

const secondsSetting = (name: string) =>
  v.pipe(
    v.number((issue) => settingMessage(name, "a number of seconds greater than 0", issue.input)),
    v.finite((issue) => settingMessage(name, "a number of seconds greater than 0", issue.input)),
    v.gtValue(0, (issue) =>
      settingMessage(name, "a number of seconds greater than 0", issue.input),
    ),
  );

function settingMessage(name: string, what: string, got: unknown): string {
  return `Setting ${name} must be ${what}, got ${JSON.stringify(got) ?? String(got)}.`;
}

/** The app settings a `POST` or `PUT` body may give (each optional). */
export const AppSettingsInput = v.pipe(
  v.strictObject(
    {
      timeout: v.optional(
        v.pipe(
          secondsSetting("timeout"),
          v.maxValue(
            MAX_TIMEOUT,
            (issue) =>
              `Setting timeout must be at most ${MAX_TIMEOUT} seconds (one year), got ${issue.input}.`,
          ),
          v.description("Seconds of inactivity after which a session expires. Default 1200."),
        ),
      ),
      period: v.optional(
        v.pipe(
          secondsSetting("period"),
          v.description(
            "Length of a timeslice in seconds: the write granularity of access times; at most timeout. Default 20.",
          ),
        ),
      ),
      maxSessionBytes: v.optional(
        v.pipe(
          integerSetting("maxSessionBytes", MAX_SESSION_BYTES_LIMIT),
          v.description("Largest serialized session data in bytes. Default 131072."),
        ),
      ),
      beginEvents: v.optional(
        v.pipe(
          v.boolean("Setting beginEvents must be true or false."),
          v.description(
            "Send begin events to the Queue too (end events always go). Default false.",
          ),
        ),
      ),
      shards: v.optional(
        v.pipe(
          integerSetting("shards", MAX_SHARDS),
          v.description(
            "Durable Objects the sessions spread over; a new count moves the sessions in the background. Default 1.",
          ),
        ),
      ),
    },
    (issue) =>
      isUnknownKey(issue)
        ? `Unknown app setting ${JSON.stringify(issue.input)}: use ${SETTINGS_SHAPE}.`
        : `App settings must be a JSON object like { ${SETTINGS_SHAPE} }.`,
  ),
  v.title("AppSettingsInput"),
);

/** An integer setting from 1 to `max`, refused with a message that names it. */
function integerSetting(name: string, max: number) {
  const message = (issue: { input: unknown }) =>
    settingMessage(name, `an integer from 1 to ${max}`, issue.input);
  return v.pipe(
    v.number(message),
    v.integer(message),
    v.minValue(1, message),
    v.maxValue(max, message),
  );
}

/** An app's settings as stored with it. */
export const AppSettings = v.pipe(
  v.strictObject({
    timeout: v.number(),
    period: v.number(),
    maxSessionBytes: v.pipe(v.number(), v.integer()),
    beginEvents: v.boolean(),
    shards: v.pipe(v.number(), v.integer()),
  }),
  v.title("AppSettings"),
);

/** The answer of `POST` and `PUT /v1/apps/{app}`. */
export const AppWithSettings = v.pipe(
  v.strictObject({ app: v.string(), settings: AppSettings }),
  v.title("AppWithSettings"),
);

/** An app's settings and stats, added up over its shards. */
export const AppStats = v.pipe(
  v.strictObject({
    app: v.string(),
    settings: AppSettings,
    sessions: v.pipe(v.number(), v.integer(), v.description("Sessions stored now.")),
    nextSweep: v.pipe(
      v.nullable(v.number()),
      v.description("When the alarm next sweeps (seconds since the epoch); null when none is set."),
    ),
    pendingEvents: v.pipe(v.number(), v.integer(), v.description("Events waiting for the Queue.")),
    usage: v.pipe(
      v.strictObject({
        rowsRead: v.pipe(v.number(), v.integer()),
        rowsWritten: v.pipe(v.number(), v.integer()),
      }),
      v.description("SQLite rows read and written since the objects started."),
    ),
    layout: v.optional(
      v.pipe(
        v.strictObject({
          epoch: v.pipe(v.number(), v.integer(), v.description("Grows by one with every layout.")),
          shards: v.pipe(v.number(), v.integer(), v.description("Objects keys are routed to.")),
          from: v.pipe(
            v.nullable(v.pipe(v.number(), v.integer())),
            v.description(
              "While sessions move: the shard count they come from; null once in place.",
            ),
          ),
          placement: v.strictObject({
            jurisdiction: v.optional(v.string()),
            locationHint: v.optional(v.string()),
          }),
        }),
        v.description("Where the app's keys are routed now (see Growing an app in the README)."),
      ),
    ),
    moved: v.optional(
      v.pipe(
        v.strictObject({
          out: v.pipe(v.number(), v.integer()),
          in: v.pipe(v.number(), v.integer()),
        }),
        v.description("Sessions handed off and taken in by moves since the objects started."),
      ),
    ),
  }),
  v.title("AppStats"),
);

/** The body of a regenerate request. */
export const RegenerateRequest = v.pipe(
  v.strictObject(
    { newKey: SessionKey },
    'A regenerate body must be { "newKey": "<the new session key>" }.',
  ),
  v.title("RegenerateRequest"),
);

/** The liveness answer. */
export const Health = v.strictObject({ ok: v.literal(true) });

/** The OpenAPI document itself (checked in full by the OpenAPI 3.1 meta-schema in the tests). */
export const OpenApiDocumentSchema = v.pipe(
  v.looseObject({ openapi: v.string(), info: v.looseObject({}), paths: v.looseObject({}) }),
  v.description("This document."),
);

/** Schemas that the document names under `components.schemas`. */
export const NAMED_SCHEMAS = {
  Session,
  NotStored,
  Changeset,
  AppSettingsInput,
  AppSettings,
  AppWithSettings,
  AppStats,
  RegenerateRequest,
};

// ---------------------------------------------------------------------------------------------
// Errors

type Codes = readonly [string, ...string[]];

/** `{ error: { code, message } }` with one of `codes`. */
function errorBody(codes: Codes) {
  return v.strictObject({
    error: v.strictObject({ code: v.picklist(codes), message: v.string() }),
  });
}

/** A refused commit: `error.key` and `error.keys` (the keys that conflicted), the stored `current`. */
function conflictBody(codes: Codes) {
  return v.strictObject({
    error: v.strictObject({
      code: v.picklist(codes),
      message: v.string(),
      key: v.pipe(v.string(), v.description("The session key the commit was for.")),
      keys: v.pipe(v.array(v.string()), v.description("The keys that conflicted.")),
    }),
    current: v.pipe(
      v.nullable(Session),
      v.description("The stored session now; null when there is none."),
    ),
  });
}

/** A settings mismatch names the app and the `setting` that differs. */
const SettingsMismatchBody = v.strictObject({
  error: v.strictObject({
    code: v.picklist(["settings_mismatch"]),
    message: v.string(),
    app: v.string(),
    setting: v.string(),
  }),
});

/** A session over the app's `maxSessionBytes`: what it would hold, and the limit. */
const SessionTooLargeBody = v.strictObject({
  error: v.strictObject({
    code: v.picklist(["session_too_large"]),
    message: v.string(),
    app: v.string(),
    key: v.string(),
    bytes: v.pipe(v.number(), v.description("The bytes the session's data would take.")),
    limit: v.pipe(v.number(), v.description("The app's maxSessionBytes.")),
  }),
});

/** A key moved to another shard than the session's (`regenerate`, or a commit's `newKey`). */
const WrongShardBody = v.strictObject({
  error: v.strictObject({
    code: v.picklist(["wrong_shard"]),
    message: v.string(),
    app: v.string(),
    key: v.pipe(v.string(), v.description("The key that lives on another shard.")),
    shards: v.optional(
      v.pipe(v.number(), v.integer(), v.description("The app's shard count in force.")),
    ),
  }),
});

// ---------------------------------------------------------------------------------------------
// Routes

/** A response header. */
export interface HeaderDeclaration {
  description: string;
  required: boolean;
  schema: v.GenericSchema;
}

/** One answer of a route: its body schema (none for an empty body) and headers. */
export interface ResponseDeclaration {
  description: string;
  body?: v.GenericSchema;
  headers?: Record<string, HeaderDeclaration>;
}

/** The JSON body a route reads, and what a body that does not fit it is refused with. */
export interface BodyDeclaration {
  schema: v.GenericSchema;
  /** Whether the body may be left out. */
  optional: boolean;
  description: string;
  /** The error code of a body that does not fit the schema (400). */
  code: string;
  /** How a problem reads in the message; default: as it is. */
  message?: (problem: string) => string;
  /** The code of a problem in one field, where it differs from `code` (e.g. `newKey`). */
  fieldCodes?: Record<string, string>;
}

/** A route: method, path (OpenAPI form), what it takes and every answer it gives. */
export interface RouteDeclaration {
  method: "get" | "head" | "post" | "put" | "patch" | "delete";
  path: string;
  operationId: string;
  summary: string;
  description: string;
  /** Answers without the API token. */
  public?: boolean;
  /** Path parameters, validated before anything else (400 `invalid_key`). */
  params?: v.ObjectEntries;
  /** Request headers the route reads. */
  headers?: Record<string, { description: string; schema: v.GenericSchema }>;
  body?: BodyDeclaration;
  responses: Record<number, ResponseDeclaration>;
}

const SESSION_PATH = "/v1/apps/{app}/sessions/{key}";
const APP_PATH = "/v1/apps/{app}";

const APP_PARAMS = { app: AppName };
const SESSION_PARAMS = { app: AppName, key: SessionKey };

const ETag = {
  description:
    'The session\'s strong ETag: its sid and version ("<sid>:<version>"). Send it as If-Match to change exactly this version, or as If-None-Match to read it only when it changed.',
  required: true,
  schema: v.pipe(v.string(), v.regex(/^"[^"]+:[0-9]+"$/)),
};

/** The ETag of a session answer: present once the session is stored. */
const OptionalETag = { ...ETag, required: false };

const json = (
  description: string,
  body: v.GenericSchema,
  headers?: ResponseDeclaration["headers"],
) => ({
  description,
  body,
  ...(headers ? { headers } : {}),
});

const errors = (description: string, codes: Codes) => json(description, errorBody(codes));

/** The answers every `/v1` route with a token may give. */
const TOKEN_ANSWERS: Record<number, ResponseDeclaration> = {
  401: json("The API token is missing or wrong.", errorBody(["unauthorized"]), {
    "WWW-Authenticate": {
      description: "Bearer challenge.",
      required: true,
      schema: v.pipe(v.string(), v.startsWith("Bearer ")),
    },
  }),
  500: errors("A bug; the details are in the worker's log, not in the answer.", ["internal"]),
  503: json(
    "No API token is configured (`not_configured`), or storage is briefly unavailable (`unavailable`, with Retry-After).",
    errorBody(["not_configured", "unavailable"]),
    { "Retry-After": { description: "Seconds to wait.", required: false, schema: v.string() } },
  ),
};

/**
 * The 500 of a route that commits: besides a bug, a commit whose write failed inside a group
 * commit (nothing of it was stored; the other commits of the group went on).
 */
const COMMIT_FAILED: ResponseDeclaration = errors(
  "A bug (`internal`; the details are in the worker's log), or the commit's write failed and nothing of it was stored (`storage_error`): read the session again and retry.",
  ["internal", "storage_error"],
);

/** The answers of a route that reads a JSON body (besides its own 400 code). */
const BODY_ANSWERS: Record<number, ResponseDeclaration> = {
  413: errors("The request body is over 1 MiB + 64 KiB.", ["body_too_large"]),
  415: errors('The body was not sent as "Content-Type: application/json" (UTF-8).', [
    "unsupported_media_type",
  ]),
};

const IF_MATCH = {
  "If-Match": {
    description:
      "The ETag of the session as read: the change applies only to exactly that version (no merge), else 412 precondition_failed. An alternative to version and sid in the body.",
    schema: v.string(),
  },
};

/**
 * Every route of the API, in the order `worker/app.ts` registers them. A path's methods, in
 * this order, make its `Allow` header.
 */
export const ROUTES = {
  health: {
    method: "get",
    path: "/healthz",
    operationId: "health",
    summary: "Liveness",
    description: "Answers without a token and without touching storage.",
    public: true,
    responses: { 200: json("Alive.", Health) },
  },
  openapi: {
    method: "get",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This OpenAPI document",
    description: "The OpenAPI 3.1 document of the API. Needs no token.",
    public: true,
    responses: { 200: json("The document.", OpenApiDocumentSchema) },
  },
  query: {
    method: "get",
    path: SESSION_PATH,
    operationId: "query",
    summary: "query: the live session",
    description:
      "The live session, touched (its idle time restarts). With If-None-Match naming its current ETag: 304 without a body (still a touch).",
    params: SESSION_PARAMS,
    headers: {
      "If-None-Match": {
        description: "ETags the client holds (or *): 304 when one names the current version.",
        schema: v.string(),
      },
    },
    responses: {
      200: json("The live session.", Session, { ETag }),
      304: { description: "The session is still the one If-None-Match names.", headers: { ETag } },
      400: errors("A bad app name or session key.", ["invalid_key"]),
      404: errors("No live session.", ["not_found"]),
      ...TOKEN_ANSWERS,
    },
  },
  has: {
    method: "head",
    path: SESSION_PATH,
    operationId: "has",
    summary: "has: whether a live session exists",
    description: "200 or 404, without a body; touches the session like a read.",
    params: SESSION_PARAMS,
    responses: {
      200: { description: "A live session exists." },
      400: { description: "A bad app name or session key." },
      401: { description: "The API token is missing or wrong." },
      404: { description: "No live session." },
      500: { description: "A bug." },
      503: { description: "Not configured, or storage briefly unavailable." },
    },
  },
  get: {
    method: "post",
    path: SESSION_PATH,
    operationId: "get",
    summary: "get: the live session, or a new, empty one",
    description:
      "The live session (touched), or a new one (version 0) that is not stored until a commit.",
    params: SESSION_PARAMS,
    responses: {
      200: json("The session (ETag once stored).", Session, { ETag: OptionalETag }),
      400: errors("A bad app name or session key.", ["invalid_key"]),
      ...TOKEN_ANSWERS,
    },
  },
  commit: {
    method: "patch",
    path: SESSION_PATH,
    operationId: "commit",
    summary: "commit a changeset",
    description:
      "Applies the changeset: clear, then delete, then set; or invalidate. A commit from an older version is merged per key (409 conflict when a changed key was changed since). With If-Match, only exactly the named version is changed (412 otherwise).",
    params: SESSION_PARAMS,
    headers: IF_MATCH,
    body: {
      schema: Changeset,
      optional: false,
      description: "The changes.",
      code: "invalid_changeset",
      message: (problem) => `Invalid changeset: ${problem}.`,
    },
    responses: {
      200: json(
        "The stored session (with its ETag), or { key, stored: false, valid } when nothing is stored after the commit.",
        v.union([Session, NotStored]),
        { ETag: OptionalETag },
      ),
      400: errors("A bad key, body, changeset or If-Match.", [
        "invalid_key",
        "invalid_json",
        "invalid_changeset",
        "invalid_precondition",
      ]),
      409: json(
        "Competing changes to the same keys (conflict), or the session ended (session_ended); with newKey, that key holds a live session (key_taken) or lives on another shard (wrong_shard). Nothing was written.",
        v.union([
          conflictBody(["conflict", "session_ended"]),
          errorBody(["key_taken"]),
          WrongShardBody,
        ]),
      ),
      412: json(
        "If-Match does not name the stored session's current version. Nothing was written.",
        conflictBody(["precondition_failed"]),
      ),
      413: json(
        "The session data would exceed maxSessionBytes, or the body is too large.",
        v.union([SessionTooLargeBody, errorBody(["body_too_large"])]),
      ),
      415: BODY_ANSWERS[415] as ResponseDeclaration,
      ...TOKEN_ANSWERS,
      500: COMMIT_FAILED,
    },
  },
  invalidate: {
    method: "delete",
    path: SESSION_PATH,
    operationId: "invalidate",
    summary: "invalidate: end the live session",
    description:
      "Ends the live session (end event `invalidated`). With If-Match, only when it is exactly the named version (412 otherwise).",
    params: SESSION_PARAMS,
    headers: IF_MATCH,
    responses: {
      204: { description: "The session ended." },
      400: errors("A bad app name, session key or If-Match.", [
        "invalid_key",
        "invalid_precondition",
      ]),
      404: errors("No live session (without If-Match).", ["not_found"]),
      412: json(
        "If-Match does not name the stored session's current version. Nothing was changed.",
        conflictBody(["precondition_failed"]),
      ),
      ...TOKEN_ANSWERS,
      500: COMMIT_FAILED,
    },
  },
  regenerate: {
    method: "post",
    path: `${SESSION_PATH}/regenerate`,
    operationId: "regenerate",
    summary: "regenerate: move the session to a new key",
    description:
      "Moves the live session to newKey (ID rotation); the old one ends with reason `regenerated`.",
    params: SESSION_PARAMS,
    body: {
      schema: RegenerateRequest,
      optional: false,
      description: "The new key.",
      code: "invalid_input",
      fieldCodes: { newKey: "invalid_key" },
    },
    responses: {
      200: json("The session at its new key.", Session, { ETag }),
      400: errors("A bad key, newKey or body.", ["invalid_key", "invalid_json", "invalid_input"]),
      409: json(
        "No live session to move (session_ended), newKey holds a live session (key_taken), or newKey lives on another shard (wrong_shard).",
        v.union([conflictBody(["session_ended"]), errorBody(["key_taken"]), WrongShardBody]),
      ),
      ...BODY_ANSWERS,
      ...TOKEN_ANSWERS,
    },
  },
  stats: {
    method: "get",
    path: APP_PATH,
    operationId: "stats",
    summary: "The app's settings and stats",
    description: "Added up over the app's shards. Creates nothing.",
    params: APP_PARAMS,
    responses: {
      200: json("The settings and stats.", AppStats),
      400: errors("A bad app name.", ["invalid_key"]),
      404: errors("An app never used.", ["app_not_found"]),
      ...TOKEN_ANSWERS,
    },
  },
  open: {
    method: "post",
    path: APP_PATH,
    operationId: "open",
    summary: "open: store settings on first use",
    description:
      "Stores the given settings (defaults for the rest) with a new app; later, refuses settings that differ from the stored ones. The body may be left out.",
    params: APP_PARAMS,
    body: {
      schema: AppSettingsInput,
      optional: true,
      description: "Settings, all optional.",
      code: "invalid_settings",
    },
    responses: {
      200: json("The app and its settings.", AppWithSettings),
      400: errors("A bad app name, body or setting.", [
        "invalid_key",
        "invalid_json",
        "invalid_settings",
      ]),
      409: json("A given setting differs from the stored one.", SettingsMismatchBody),
      ...BODY_ANSWERS,
      ...TOKEN_ANSWERS,
    },
  },
  configure: {
    method: "put",
    path: APP_PATH,
    operationId: "configure",
    summary: "configure: create the app or change its settings",
    description:
      "Creates the app, or changes the given settings on purpose, keeping the others. A new shard count moves the sessions in the background; they stay reachable meanwhile.",
    params: APP_PARAMS,
    body: {
      schema: AppSettingsInput,
      optional: false,
      description: "Settings, all optional.",
      code: "invalid_settings",
    },
    responses: {
      200: json("The app and its settings.", AppWithSettings),
      400: errors("A bad app name, body or setting.", [
        "invalid_key",
        "invalid_json",
        "invalid_settings",
      ]),
      ...BODY_ANSWERS,
      ...TOKEN_ANSWERS,
    },
  },
} satisfies Record<string, RouteDeclaration>;

/** Answers that no route declares: an unknown route, or a known path with another method. */
export const OTHER_ANSWERS = {
  NoRoute: errors("No route for this method and path (404 no_route).", ["no_route"]),
  MethodNotAllowed: json(
    "The path exists, but not with this method; Allow lists the methods it has.",
    errorBody(["method_not_allowed"]),
    { Allow: { description: "The path's methods.", required: true, schema: v.string() } },
  ),
  Unauthorized: TOKEN_ANSWERS[401] as ResponseDeclaration,
  Unavailable: TOKEN_ANSWERS[503] as ResponseDeclaration,
  Internal: TOKEN_ANSWERS[500] as ResponseDeclaration,
} satisfies Record<string, ResponseDeclaration>;
