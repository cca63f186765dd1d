/**
 * The route table: every route of the API with its path, parameters, headers, body and answers,
 * and the two public routes' bodies.
 */
import * as v from "valibot";
import { BODY_ANSWERS, COMMIT_FAILED, errors, json, TOKEN_ANSWERS, withoutBodies } from "./answers";
import { DASHBOARD_ANSWER } from "./dashboard";
import type { BodyDeclaration, RouteDeclaration } from "./declarations";
import {
  anyError,
  conflictBody,
  errorBody,
  SessionTooLargeBody,
  SettingsMismatchBody,
  WrongShardBody,
} from "./errors";
import { AppMetricsSchema } from "./metrics";
import {
  AppNameSchema,
  ChangesetSchema,
  NotStoredSchema,
  RegenerateRequestSchema,
  SessionKeySchema,
  SessionSchema,
} from "./sessions";
import {
  AppDeletionSchema,
  AppSettingsInputSchema,
  AppStatsSchema,
  AppWithSettingsSchema,
} from "./settings";
import {
  EndedSchema,
  HandleSchema,
  SignInRequestSchema,
  UserSchema,
  UserSessionsSchema,
} from "./users";

const SESSION_PATH = "/v1/apps/{app}/sessions/{key}";
const APP_PATH = "/v1/apps/{app}";
const USER_PATH = "/v1/apps/{app}/users/{user}/sessions";

const APP_PARAMS = { app: AppNameSchema };
const SESSION_PARAMS = { app: AppNameSchema, key: SessionKeySchema };
const USER_PARAMS = { app: AppNameSchema, user: UserSchema };

/** A bad `user` in the path is `invalid_user`, not `invalid_key`. */
const USER_CODES = { user: "invalid_user" } as const;

/** A session key in the query (`own`, `except`): a bad one is `invalid_key`. */
const keyQuery = (description: string) => ({
  description,
  schema: SessionKeySchema,
  code: "invalid_key" as const,
});

/** The answers every user route shares: a bad app name, user or key; a user with no session. */
const USER_ANSWERS = {
  400: errors("A bad app name or session key (invalid_key), or user (invalid_user).", [
    "invalid_key",
    "invalid_user",
  ]),
  404: errors("No live session is signed in as the user (user_not_found).", ["user_not_found"]),
  ...TOKEN_ANSWERS,
};

const ETag = {
  description:
    'The session\'s strong ETag: its sid and version ("<sid>:<version>"). Send it as If-Match to change exactly this version, or as If-None-Match to read it only when it changed.',
  required: true,
  schema: v.pipe(v.string(), v.regex(/^"[^"]+:[0-9]+"$/)),
};

/** The ETag of a session answer: present once the session is stored. */
const OptionalETag = { ...ETag, required: false };

const IF_MATCH = {
  description:
    "ETags of the session (or *): the request applies only while the session is in a state one of them names by strong comparison (* : while one exists), else 412 precondition_failed. On PATCH and DELETE, one ETag of this API names the version and sid to change exactly (no merge): an alternative to version and sid in the body.",
  schema: v.string(),
};

const IF_NONE_MATCH = {
  description:
    "ETags of the session (or *): when one names the current state (weak comparison; * : a session exists), a read answers 304 and a write 412 precondition_failed. If-None-Match: * on PATCH creates the session only if none exists.",
  schema: v.string(),
};

/** The preconditions every session route but `get` and `regenerate` evaluates (RFC 9110 §13.2.2). */
const CONDITIONS = { "If-Match": IF_MATCH, "If-None-Match": IF_NONE_MATCH };

/** The preconditions of a write, and the header that makes one required. */
const WRITE_CONDITIONS = {
  ...CONDITIONS,
  "Require-Precondition": {
    description:
      "true: refuse this write with 428 precondition_required unless it carries If-Match or If-None-Match. Send it with every conditional write, so that an ETag variable left empty (a runtime drops an empty header) cannot turn into an unconditional write.",
    schema: v.picklist(["true"]),
  },
};

/** The 412 of a route that evaluates preconditions: nothing was `done`. */
const preconditionFailed = (done: "written" | "changed" | "read") =>
  json(
    `A precondition failed: If-Match names no state the session is in, or If-None-Match names the one it is in, or (with preconditions) the body's version and sid are not the current ones. Nothing was ${done}. current is the session as it is (null when none).`,
    conflictBody(["precondition_failed"]),
  );

/** The 428 of a write sent with Require-Precondition but without a precondition. */
const PRECONDITION_REQUIRED = errors(
  "Require-Precondition: true, but neither If-Match nor If-None-Match was sent. Nothing was read or written.",
  ["precondition_required"],
);

/** The 400 codes of the precondition headers. */
const PRECONDITION_CODE = "invalid_precondition";

/** The settings body of `open` (which may leave it out) and `configure`. */
const settingsBody = (optional: boolean): BodyDeclaration => ({
  schema: AppSettingsInputSchema,
  optional,
  description: "Settings, all optional.",
  code: "invalid_settings",
});

/** The answers `open` and `configure` share. */
const SETTINGS_ANSWERS = {
  200: json("The app and its settings.", AppWithSettingsSchema),
  400: errors("A bad app name, body or setting.", [
    "invalid_key",
    "invalid_json",
    "invalid_settings",
  ]),
  ...BODY_ANSWERS,
  ...TOKEN_ANSWERS,
};

/** The liveness answer. */
export const HealthSchema = v.strictObject({ ok: v.literal(true) });

/** The OpenAPI document itself (checked in full by the OpenAPI 3.1 meta-schema in the tests). */
export const OpenApiDocumentSchema = v.pipe(
  v.looseObject({ openapi: v.string(), info: v.looseObject({}), paths: v.looseObject({}) }),
  v.description("This document."),
);

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
    responses: { 200: json("Alive.", HealthSchema) },
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
  dashboard: {
    method: "get",
    path: "/dashboard",
    operationId: "dashboard",
    summary: "The dashboard page",
    description:
      "A page that shows an app's figures live (GET /v1/apps/{app}/metrics, polled by the page with the API token the user enters; docs/operating.md#dashboard). The page holds no data and needs no token.",
    public: true,
    responses: { 200: DASHBOARD_ANSWER },
  },
  query: {
    method: "get",
    path: SESSION_PATH,
    operationId: "query",
    summary: "query: the live session",
    description:
      "The live session, touched (its idle time restarts). Preconditions are evaluated on it as read: If-Match must name its ETag (or be *), else 412; an If-None-Match that names it (or *) answers 304 without a body (still a touch). No live session: 404, whatever the preconditions.",
    params: SESSION_PARAMS,
    headers: CONDITIONS,
    responses: {
      200: json("The live session.", SessionSchema, { ETag }),
      304: { description: "If-None-Match names the session's current ETag.", headers: { ETag } },
      400: errors(
        "A bad app name or session key, or an If-Match or If-None-Match that is not * or a list of ETags.",
        ["invalid_key", PRECONDITION_CODE],
      ),
      404: errors("No live session.", ["not_found"]),
      412: preconditionFailed("read"),
      ...TOKEN_ANSWERS,
    },
  },
  has: {
    method: "head",
    path: SESSION_PATH,
    operationId: "has",
    summary: "has: whether a live session exists",
    description:
      "200 or 404, without a body; touches the session like a read. With If-Match or If-None-Match, evaluated as for GET (304, 412), and the 200 carries the ETag.",
    params: SESSION_PARAMS,
    headers: CONDITIONS,
    responses: {
      200: { description: "A live session exists.", headers: { ETag: OptionalETag } },
      304: { description: "If-None-Match names the session's current ETag.", headers: { ETag } },
      400: { description: "A bad app name or session key, or a malformed precondition." },
      404: { description: "No live session." },
      412: { description: "A precondition failed (as for GET)." },
      ...withoutBodies(TOKEN_ANSWERS),
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
      200: json("The session (ETag once stored).", SessionSchema, { ETag: OptionalETag }),
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
      "Applies the changeset: clear, then delete, then set; or invalidate. A commit from an older version is merged per key (409 conflict when a changed key was changed since). Preconditions (If-Match, If-None-Match) are evaluated on the session as it is: when they hold, the change applies to exactly that state (no merge; If-None-Match: * creates only while none exists), else 412 and nothing is written.",
    params: SESSION_PARAMS,
    headers: WRITE_CONDITIONS,
    body: {
      schema: ChangesetSchema,
      optional: false,
      description: "The changes.",
      code: "invalid_changeset",
      message: (problem) => `Invalid changeset: ${problem}.`,
      fieldCodes: { newKey: "invalid_key" },
    },
    responses: {
      200: json(
        "The stored session (with its ETag), or { key, stored: false, valid } when nothing is stored after the commit.",
        v.union([SessionSchema, NotStoredSchema]),
        { ETag: OptionalETag },
      ),
      400: errors(
        "A bad key or newKey (invalid_key), body, changeset, or precondition header (invalid_precondition: malformed, or an If-Match ETag that disagrees with the body).",
        ["invalid_key", "invalid_json", "invalid_changeset", PRECONDITION_CODE],
      ),
      409: json(
        "Competing changes to the same keys (conflict), or the session ended (session_ended); with newKey, that key holds a live session (key_taken) or lives on another shard (wrong_shard). Nothing was written.",
        anyError([
          conflictBody(["conflict", "session_ended"]),
          errorBody(["key_taken"]),
          WrongShardBody,
        ]),
      ),
      412: preconditionFailed("written"),
      413: json(
        "The session data would exceed maxSessionBytes, or the body is too large.",
        anyError([SessionTooLargeBody, errorBody(["body_too_large"])]),
      ),
      415: BODY_ANSWERS[415],
      428: PRECONDITION_REQUIRED,
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
      "Ends the live session (end event `invalidated`). Preconditions (If-Match, If-None-Match) are evaluated on it as it is: when they hold, exactly that state is ended, else 412 and the session lives on. No live session: 404, whatever the preconditions.",
    params: SESSION_PARAMS,
    headers: WRITE_CONDITIONS,
    responses: {
      204: { description: "The session ended." },
      400: errors(
        "A bad app name or session key, or a precondition header that is not * or a list of ETags.",
        ["invalid_key", PRECONDITION_CODE],
      ),
      404: errors("No live session.", ["not_found"]),
      412: preconditionFailed("changed"),
      428: PRECONDITION_REQUIRED,
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
      schema: RegenerateRequestSchema,
      optional: false,
      description: "The new key.",
      code: "invalid_input",
      fieldCodes: { newKey: "invalid_key" },
    },
    responses: {
      200: json("The session at its new key.", SessionSchema, { ETag }),
      400: errors("A bad key, newKey or body.", ["invalid_key", "invalid_json", "invalid_input"]),
      409: json(
        "No live session to move (session_ended), newKey holds a live session (key_taken), or newKey lives on another shard (wrong_shard).",
        anyError([conflictBody(["session_ended"]), errorBody(["key_taken"]), WrongShardBody]),
      ),
      ...BODY_ANSWERS,
      ...TOKEN_ANSWERS,
    },
  },
  signIn: {
    method: "post",
    path: `${SESSION_PATH}/sign-in`,
    operationId: "signIn",
    summary: "sign-in: bind the session to a user under a new key",
    description:
      "Commits the changes, then moves the session to a new key that the service picks (ID rotation against fixation: data kept, a new sid, version 1; the old key ends with reason `regenerated`), signed in as the user with the labels, in one commit. A session never stored (version 0) is stored by its sign-in, even empty. Signing in as another user rotates again. A sign-in past the app's maxSessionsPerUser ends the user's least recently active session (reason `evicted`). The new key carries a tag derived from the app and user (never the user in clear): set the cookie to it.",
    params: SESSION_PARAMS,
    body: {
      schema: SignInRequestSchema,
      optional: false,
      description: "The user, the labels, and the session's changes.",
      code: "invalid_input",
      fieldCodes: { user: "invalid_user", labels: "invalid_labels", changes: "invalid_changeset" },
    },
    responses: {
      200: json("The signed-in session at its new key, with user.", SessionSchema, { ETag }),
      400: errors(
        "A bad app name or key (invalid_key), body (invalid_json, invalid_input), user (invalid_user: empty, over 256 characters or not a string), labels (invalid_labels: not a JSON object, or over 1 KiB as JSON) or changes (invalid_changeset). Nothing was written.",
        [
          "invalid_key",
          "invalid_json",
          "invalid_input",
          "invalid_user",
          "invalid_labels",
          "invalid_changeset",
        ],
      ),
      409: json(
        "Competing changes to the same keys, or a session that changed while it was signed in (conflict); the session ended (session_ended). Nothing was signed in.",
        conflictBody(["conflict", "session_ended"]),
      ),
      413: json(
        "The session data would exceed maxSessionBytes, or the body is too large.",
        anyError([SessionTooLargeBody, errorBody(["body_too_large"])]),
      ),
      415: BODY_ANSWERS[415],
      ...TOKEN_ANSWERS,
      500: COMMIT_FAILED,
    },
  },
  userSessions: {
    method: "get",
    path: USER_PATH,
    operationId: "userSessions",
    summary: "List a user's live sessions",
    description:
      "The live sessions signed in as the user, most recently active first: for each, a handle that ends it (never reads it), when it began, was last active (to the period) and expires, its labels, and whether it is the caller's own (own=). Reads only the user's sessions, in one Durable Object; writes nothing.",
    params: USER_PARAMS,
    paramCodes: USER_CODES,
    query: { own: keyQuery("The caller's own session key: that session is marked current.") },
    responses: {
      200: json("The user's live sessions.", UserSessionsSchema),
      ...USER_ANSWERS,
    },
  },
  endUserSessions: {
    method: "delete",
    path: USER_PATH,
    operationId: "endUserSessions",
    summary: "End all of a user's sessions, or all but the caller's",
    description:
      "Ends every live session signed in as the user (reason `revoked`, one end event each), or all but the one at except=, in one transaction. Once it answers, no request through any transport finds any of them.",
    params: USER_PARAMS,
    paramCodes: USER_CODES,
    query: { except: keyQuery("The caller's own session key: every session but this one ends.") },
    responses: {
      200: json("How many ended.", EndedSchema),
      ...USER_ANSWERS,
    },
  },
  endUserSession: {
    method: "delete",
    path: `${USER_PATH}/{handle}`,
    operationId: "endUserSession",
    summary: "End one of a user's sessions, by handle",
    description:
      "Ends the user's live session with this handle (reason `revoked`). A handle of another user's session ends nothing (404 handle_not_found).",
    params: { ...USER_PARAMS, handle: HandleSchema },
    paramCodes: { ...USER_CODES, handle: "invalid_input" },
    responses: {
      200: json("{ ended: 1 }.", EndedSchema),
      400: errors("A bad app name (invalid_key), user (invalid_user) or handle (invalid_input).", [
        "invalid_key",
        "invalid_user",
        "invalid_input",
      ]),
      404: errors(
        "No live session is signed in as the user (user_not_found), or none of the user's has this handle: it ended, or it is another user's (handle_not_found). Nothing ended.",
        ["user_not_found", "handle_not_found"],
      ),
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
      200: json("The settings and stats.", AppStatsSchema),
      400: errors("A bad app name.", ["invalid_key"]),
      404: errors("An app never used.", ["app_not_found"]),
      ...TOKEN_ANSWERS,
    },
  },
  metrics: {
    method: "get",
    path: `${APP_PATH}/metrics`,
    operationId: "metrics",
    summary: "The app's figures, as JSON or in the Prometheus text format",
    description:
      "Live sessions, sessions created and ended by reason, commits, conflicts and refusals (in total and per minute), time alive, idle time, sweep lag, the outbox and a move's progress, over all the app's shards (docs/DESIGN.md#metrics). Each shard is asked in parallel within a bounded time; those that did not answer are named in shards.missing. JSON by default; the Prometheus text format (0.0.4) when Accept prefers text/plain or application/openmetrics-text, as a Prometheus scrape does. Creates nothing, writes nothing.",
    params: APP_PARAMS,
    responses: {
      200: {
        ...json("The figures.", AppMetricsSchema),
        text: {
          mediaType: "text/plain",
          description:
            "The figures in the Prometheus text exposition format, version 0.0.4 (Content-Type: text/plain; version=0.0.4; charset=utf-8).",
        },
      },
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
    body: settingsBody(true),
    responses: {
      ...SETTINGS_ANSWERS,
      409: json("A given setting differs from the stored one.", SettingsMismatchBody),
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
    body: settingsBody(false),
    responses: SETTINGS_ANSWERS,
  },
  deleteApp: {
    method: "delete",
    path: APP_PATH,
    operationId: "deleteApp",
    summary: "Delete the app",
    description:
      "Ends every session (reason `invalidated`, each with its end event), sends the events, then frees the storage of every object of the app; the name then opens as a new app. The work goes on in the background: 202 while it does, with how much is left (call again to follow it), 200 once done. Meanwhile every other call on the app answers 503 `app_deleting`.",
    params: APP_PARAMS,
    responses: {
      200: json("Deleted: every object of the app holds nothing.", AppDeletionSchema),
      202: json("Being deleted: the sessions and events left.", AppDeletionSchema),
      400: errors("A bad app name.", ["invalid_key"]),
      404: errors("An app never used, or deleted already.", ["app_not_found"]),
      409: errors("The app's sessions are moving between shards: delete it once the move ends.", [
        "app_moving",
      ]),
      ...TOKEN_ANSWERS,
    },
  },
} satisfies Record<string, RouteDeclaration>;
