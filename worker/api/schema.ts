/**
 * The HTTP API, declared once: every route with its parameters, headers, body and every answer
 * (each status, each error code, each body shape). `worker/app.ts` registers its routes and
 * validates requests from these declarations, and `worker/api/openapi.ts` turns them into the
 * OpenAPI 3.1 document served at `GET /v1/openapi.json` (and kept as `openapi.json`). Change a
 * shape and both follow; the contract tests check every answer against the document.
 *
 * Schemas are Valibot schemas: they validate requests in the worker and convert to JSON Schema
 * (2020-12, the dialect of OpenAPI 3.1) for the document. Rules that JSON Schema cannot say
 * (`period` at most `timeout`, `sid` required from version 1 on, a key both set and deleted) stay
 * with the core (`parseChangeset`, `parseAppSettings`), which every transport shares.
 *
 * The declarations live in modules of their own, gathered here:
 * - `sessions.ts`: names, keys, the session view and the bodies of the session routes;
 * - `settings.ts`: app settings, as given and as stored, and an app's stats;
 * - `users.ts`: users and handles, the sign-in body, a user's sessions;
 * - `errors.ts`: the bodies of error answers;
 * - `declarations.ts`: the shapes of a route, a body, an answer and a header;
 * - `answers.ts`: the answers many routes share, and those that no route declares;
 * - `routes.ts`: the route table.
 */
import {
  ChangesetSchema,
  NotStoredSchema,
  RegenerateRequestSchema,
  SessionSchema,
  SignInChangesSchema,
} from "./sessions";
import {
  AppSettingsInputSchema,
  AppSettingsSchema,
  AppStatsSchema,
  AppWithSettingsSchema,
} from "./settings";
import { EndedSchema, SignInRequestSchema, UserSessionSchema, UserSessionsSchema } from "./users";

export { OTHER_ANSWERS } from "./answers";
export type {
  BodyDeclaration,
  HeaderDeclaration,
  QueryDeclaration,
  ResponseDeclaration,
  RouteDeclaration,
} from "./declarations";
export { HealthSchema, OpenApiDocumentSchema, ROUTES } from "./routes";
export {
  AppNameSchema,
  ChangesetSchema,
  NotStoredSchema,
  RegenerateRequestSchema,
  SessionDataSchema,
  SessionKeySchema,
  SessionSchema,
  SignInChangesSchema,
} from "./sessions";
export {
  AppSettingsInputSchema,
  AppSettingsSchema,
  AppStatsSchema,
  AppWithSettingsSchema,
} from "./settings";
export {
  EndedSchema,
  HandleSchema,
  SignInRequestSchema,
  UserSchema,
  UserSessionSchema,
  UserSessionsSchema,
} from "./users";

/**
 * Schemas that the document names under `components.schemas`, by their component names (the
 * names of the shapes in the API; the `…Schema` identifiers keep them apart from the core's types).
 */
export const NAMED_SCHEMAS = {
  Session: SessionSchema,
  NotStored: NotStoredSchema,
  Changeset: ChangesetSchema,
  AppSettingsInput: AppSettingsInputSchema,
  AppSettings: AppSettingsSchema,
  AppWithSettings: AppWithSettingsSchema,
  AppStats: AppStatsSchema,
  RegenerateRequest: RegenerateRequestSchema,
  SignInRequest: SignInRequestSchema,
  SignInChanges: SignInChangesSchema,
  UserSession: UserSessionSchema,
  UserSessions: UserSessionsSchema,
  Ended: EndedSchema,
};
