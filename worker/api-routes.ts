/**
 * The route table: every route of the API with its path, parameters, headers, body and answers,
 * and the two public routes' bodies.
 */
import * as v from "valibot";
import { BODY_ANSWERS, COMMIT_FAILED, errors, json, TOKEN_ANSWERS } from "./api-answers";
import type { BodyDeclaration, RouteDeclaration } from "./api-declarations";
import {
  conflictBody,
  errorBody,
  SessionTooLargeBody,
  SettingsMismatchBody,
  WrongShardBody,
} from "./api-errors";
import {
  AppName,
  Changeset,
  NotStored,
  RegenerateRequest,
  Session,
  SessionKey,
} from "./api-sessions";
import { AppSettingsInput, AppStats, AppWithSettings } from "./api-settings";

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

const IF_MATCH = {
  "If-Match": {
    description:
      "The ETag of the session as read: the change applies only to exactly that version (no merge), else 412 precondition_failed. An alternative to version and sid in the body.",
    schema: v.string(),
  },
};

/** The 412 of a route that takes If-Match: it names another version, so nothing was `done`. */
const preconditionFailed = (done: "written" | "changed") =>
  json(
    `If-Match does not name the stored session's current version. Nothing was ${done}.`,
    conflictBody(["precondition_failed"]),
  );

/** The settings body of `open` (which may leave it out) and `configure`. */
const settingsBody = (optional: boolean): BodyDeclaration => ({
  schema: AppSettingsInput,
  optional,
  description: "Settings, all optional.",
  code: "invalid_settings",
});

/** The answers `open` and `configure` share. */
const SETTINGS_ANSWERS = {
  200: json("The app and its settings.", AppWithSettings),
  400: errors("A bad app name, body or setting.", [
    "invalid_key",
    "invalid_json",
    "invalid_settings",
  ]),
  ...BODY_ANSWERS,
  ...TOKEN_ANSWERS,
};

/** The liveness answer. */
export const Health = v.strictObject({ ok: v.literal(true) });

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
      412: preconditionFailed("written"),
      413: json(
        "The session data would exceed maxSessionBytes, or the body is too large.",
        v.union([SessionTooLargeBody, errorBody(["body_too_large"])]),
      ),
      415: BODY_ANSWERS[415],
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
      412: preconditionFailed("changed"),
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
} satisfies Record<string, RouteDeclaration>;
