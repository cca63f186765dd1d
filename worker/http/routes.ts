import type { Context, Hono } from "hono";
import * as v from "valibot";
import {
  type InputErrorCode,
  InvalidInputError,
  InvalidKeyError,
  type SessionError,
} from "../../src/core/errors";
import type { BodyDeclaration, QueryDeclaration, RouteDeclaration } from "../api/schema";
import { readJsonBody } from "./body";
import { methodNotAllowed } from "./errors";

type Env = { Bindings: Cloudflare.Env };

/**
 * What a handler gets: the path parameters, the query parameters (those not given: undefined)
 * and the body, all validated by the declaration.
 */
export interface Input<R extends RouteDeclaration> {
  params: R["params"] extends v.ObjectEntries
    ? v.InferOutput<v.ObjectSchema<R["params"], undefined>>
    : Record<string, never>;
  query: R["query"] extends Record<string, QueryDeclaration>
    ? { [K in keyof R["query"]]?: string }
    : Record<string, never>;
  body: R["body"] extends BodyDeclaration ? unknown : undefined;
}

/** A route's handler. */
export type Handler<R extends RouteDeclaration> = (
  c: Context<Env>,
  input: Input<R>,
) => Response | Promise<Response>;

/**
 * Registers `handler` for the declared route: its method and path come from the declaration,
 * and its path parameters (400 `invalid_key`, or the route's `paramCodes`), query parameters
 * (400 with each one's code) and JSON body (400 with the route's code, plus the media type, size
 * and encoding checks of `readJsonBody`) are validated by its schemas before the handler runs.
 * The body reaches the handler as it was sent, once it fits.
 *
 * @example
 * route(api, ROUTES.stats, async (c, { params }) => c.json(await stats(params.app)));
 */
export function route<R extends RouteDeclaration>(
  app: Hono<Env>,
  declaration: R,
  handler: Handler<R>,
): void {
  const params = Object.entries(declaration.params ?? {});
  const codes = declaration.paramCodes ?? {};
  const query = Object.entries(declaration.query ?? {});
  const body = declaration.body;
  app.on(declaration.method.toUpperCase(), honoPath(declaration.path), async (c) => {
    const input = {
      params: validParams(params, codes, c),
      query: query.length === 0 ? {} : validQuery(query, c),
      body: body ? await validBody(body, c) : undefined,
    } as Input<R>;
    return handler(c, input);
  });
}

/**
 * Answers every other method on the declared paths with 405 and `Allow` (the declared methods,
 * HEAD with GET). Register after the routes.
 */
export function refuseOtherMethods(app: Hono<Env>, declarations: RouteDeclaration[]): void {
  const methods = new Map<string, string[]>();
  for (const { path, method } of declarations) {
    const allow = methods.get(path) ?? [];
    const name = method.toUpperCase();
    if (!allow.includes(name)) allow.push(name);
    if (name === "GET" && !allow.includes("HEAD")) allow.push("HEAD");
    methods.set(path, allow);
  }
  for (const [path, allow] of methods) app.all(honoPath(path), methodNotAllowed(allow));
}

/** `/v1/apps/{app}` as Hono writes it: `/v1/apps/:app`. */
export function honoPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ":$1");
}

/** The path parameters, each checked by its schema (`v.is` first: this runs on every read). */
function validParams(
  params: [string, v.GenericSchema][],
  codes: Record<string, InputErrorCode>,
  c: Context<Env>,
): Record<string, string> {
  const valid: Record<string, string> = {};
  for (const [name, schema] of params) {
    const value = c.req.param(name);
    if (!v.is(schema, value)) throw invalidValue(schema, value, name, codes[name] ?? "invalid_key");
    valid[name] = value as string;
  }
  return valid;
}

/** The query parameters given, each checked by its schema; those not given are left out. */
function validQuery(
  query: [string, QueryDeclaration][],
  c: Context<Env>,
): Record<string, string | undefined> {
  const valid: Record<string, string | undefined> = {};
  for (const [name, { schema, code }] of query) {
    const value = c.req.query(name);
    if (value === undefined) continue;
    if (!v.is(schema, value)) throw invalidValue(schema, value, name, code);
    valid[name] = value;
  }
  return valid;
}

/** The error of a parameter that does not fit its schema: the schema's message, with `code`. */
function invalidValue(
  schema: v.GenericSchema,
  value: unknown,
  name: string,
  code: InputErrorCode,
): SessionError {
  const result = v.safeParse(schema, value, { abortEarly: true });
  const message = result.issues?.[0]?.message ?? `Invalid ${name}.`;
  return code === "invalid_key"
    ? new InvalidKeyError(message)
    : new InvalidInputError(message, code);
}

async function validBody(declaration: BodyDeclaration, c: Context<Env>): Promise<unknown> {
  const body = await readJsonBody(c, { optional: declaration.optional });
  if (body === undefined) return undefined;
  const result = v.safeParse(declaration.schema, body, { abortEarly: true });
  if (!result.success) throw bodyError(declaration, result.issues[0]);
  // The body as sent, not the parsed output: the schemas hold no transformations, and a
  // record drops keys such as "__proto__" that the core refuses with a clearer message.
  return body;
}

function bodyError(declaration: BodyDeclaration, issue: v.BaseIssue<unknown>): SessionError {
  const field = issue.path?.[0]?.key;
  const fieldCode = typeof field === "string" ? declaration.fieldCodes?.[field] : undefined;
  // A missing field is a problem of the object, not of the field's value; a field missing
  // within a field (a sign-in's changes without a version) is a problem of that field.
  const missing = issue.input === undefined && (issue.path?.length ?? 0) <= 1;
  const code = fieldCode !== undefined && !missing ? fieldCode : declaration.code;
  const message = declaration.message ? declaration.message(issue.message) : issue.message;
  return code === "invalid_key"
    ? new InvalidKeyError(message)
    : new InvalidInputError(message, code);
}
