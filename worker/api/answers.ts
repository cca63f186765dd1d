/**
 * How a route declares an answer (a JSON body, an error), and the answers many routes share:
 * those of the token check, of reading a JSON body and of a failed commit, and those that no
 * route declares.
 */
import * as v from "valibot";
import type { ResponseDeclaration } from "./declarations";
import { type Codes, errorBody } from "./errors";

/** An answer with a JSON body, and headers when given. */
export const json = (
  description: string,
  body: v.GenericSchema,
  headers?: ResponseDeclaration["headers"],
) => ({
  description,
  body,
  ...(headers ? { headers } : {}),
});

/** An error answer: `{ error: { code, message } }` with one of `codes`. */
export const errors = (description: string, codes: Codes) => json(description, errorBody(codes));

/** The same answers without their bodies (a HEAD's), headers kept. */
export function withoutBodies<T extends Record<number, ResponseDeclaration>>(
  answers: T,
): Record<keyof T, ResponseDeclaration> {
  return Object.fromEntries(
    Object.entries(answers).map(([status, { body: _, text: __, ...answer }]) => [status, answer]),
  ) as Record<keyof T, ResponseDeclaration>;
}

/** The answers every `/v1` route with a token may give. */
export const TOKEN_ANSWERS = {
  401: json("The API token is missing or wrong.", errorBody(["unauthorized"]), {
    "WWW-Authenticate": {
      description: "Bearer challenge.",
      required: true,
      schema: v.pipe(v.string(), v.startsWith("Bearer ")),
    },
  }),
  500: errors("A bug; the details are in the worker's log, not in the answer.", ["internal"]),
  503: json(
    "No API token is configured (`not_configured`), storage is briefly unavailable (`unavailable`, with Retry-After), or the app is being deleted (`app_deleting`: nothing was changed).",
    errorBody(["not_configured", "unavailable", "app_deleting"]),
    { "Retry-After": { description: "Seconds to wait.", required: false, schema: v.string() } },
  ),
} satisfies Record<number, ResponseDeclaration>;

/**
 * The 500 of a route that commits: besides a bug, a commit whose write failed inside a group
 * commit (nothing of it was stored; the other commits of the group went on).
 */
export const COMMIT_FAILED: ResponseDeclaration = errors(
  "A bug (`internal`; the details are in the worker's log), or the commit's write failed and nothing of it was stored (`storage_error`): read the session again and retry.",
  ["internal", "storage_error"],
);

/** The answers of a route that reads a JSON body (besides its own 400 code). */
export const BODY_ANSWERS = {
  413: errors("The request body is over 1 MiB + 64 KiB.", ["body_too_large"]),
  415: errors('The body was not sent as "Content-Type: application/json" (UTF-8).', [
    "unsupported_media_type",
  ]),
} satisfies Record<number, ResponseDeclaration>;

/** Answers that no route declares: an unknown route, or a known path with another method. */
export const OTHER_ANSWERS = {
  NoRoute: errors("No route for this method and path (404 no_route).", ["no_route"]),
  MethodNotAllowed: json(
    "The path exists, but not with this method; Allow lists the methods it has.",
    errorBody(["method_not_allowed"]),
    { Allow: { description: "The path's methods.", required: true, schema: v.string() } },
  ),
  Unauthorized: TOKEN_ANSWERS[401],
  Unavailable: TOKEN_ANSWERS[503],
  Internal: TOKEN_ANSWERS[500],
} satisfies Record<string, ResponseDeclaration>;
