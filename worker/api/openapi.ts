import { type ConversionConfig, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { withoutBodies } from "./answers";
import {
  NAMED_SCHEMAS,
  OTHER_ANSWERS,
  type ResponseDeclaration,
  ROUTES,
  type RouteDeclaration,
} from "./schema";

/** An OpenAPI 3.1 document, as JSON. */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: Record<string, Record<string, unknown>>;
};

/** The document's version of the API (the version of the package). */
export const API_VERSION = "0.1.0";

const CONVERSION: ConversionConfig = {
  target: "draft-2020-12",
  definitions: NAMED_SCHEMAS,
  // JSON numbers are finite; `finite` only catches what JSON.parse makes of 1e999.
  ignoreActions: ["finite"],
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
};

let built: OpenApiDocument | undefined;

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the declarations in `worker/api/schema.ts`
 * once per isolate (the first time it is asked for). `GET /v1/openapi.json` serves it, and
 * `npm run openapi` writes it to `openapi.json`.
 *
 * @example
 * const doc = openApiDocument();
 * doc.paths["/v1/apps/{app}/sessions/{key}"].patch.responses[412];
 */
export function openApiDocument(): OpenApiDocument {
  built ??= buildDocument();
  return built;
}

/** The methods a path may be asked for; those it does not have answer 405 (TRACE never reaches a worker). */
const METHODS = ["get", "head", "post", "put", "patch", "delete", "options"] as const;

function buildDocument(): OpenApiDocument {
  const paths: Record<string, Record<string, Record<string, unknown>>> = {};
  const routes = Object.values(ROUTES) as RouteDeclaration[];
  for (const route of routes) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method] = operation(route);
  }
  for (const [path, item] of Object.entries(paths)) {
    // Path parameters belong to the path: every operation on it (405s included) takes them.
    const params = routes.find((r) => r.path === path)?.params ?? {};
    const get = routes.find((r) => r.path === path && r.method === "get");
    // HEAD is GET without the body (Hono answers it with the GET handler): declared as such.
    if (get !== undefined && item.head === undefined) item.head = operation(headOf(get));
    // The token check runs on every /v1 path before the method is looked at.
    const isPublic = !path.startsWith("/v1/");
    const allow = METHODS.filter((m) => item[m] !== undefined);
    for (const method of METHODS) {
      if (item[method] === undefined) item[method] = notAllowed(path, method, allow, isPublic);
    }
    const parameters = Object.entries(params).map(([name, schema]) => ({
      name,
      in: "path",
      required: true,
      schema: schemaOf(schema),
    }));
    if (parameters.length > 0) paths[path] = { parameters, ...item } as unknown as typeof item;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge sessions",
      version: API_VERSION,
      description:
        "Server-side sessions for Cloudflare Workers over HTTP: get, query, has, commit, invalidate and regenerate sessions; sign a session in as a user, and list and end a user's sessions together; and open, configure and read apps. Every /v1 route needs the API token as a bearer token (except this document). Every error is { error: { code, message } } with a fitting status, and each answer declares the codes it can carry; conflicts and failed preconditions add error.key, error.keys and current. Reads answer a strong ETag (sid and version); GET, HEAD, PATCH and DELETE of a session evaluate If-Match and If-None-Match (RFC 9110 §13.2.2). A method a path does not have answers 405 method_not_allowed with Allow (declared as the path's other operations); a path not in this document answers 404 no_route (components.responses.NoRoute).",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [
      {
        url: "https://edge-sessions.{subdomain}.workers.dev",
        description: "The worker deployed with `wrangler deploy` (or your own route).",
        variables: {
          subdomain: { default: "example", description: "Your workers.dev subdomain." },
        },
      },
      { url: "http://127.0.0.1:8787", description: "`npm start` (wrangler dev, token dev-token)." },
    ],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: toJsonSchemaDefs(NAMED_SCHEMAS, CONVERSION),
      responses: Object.fromEntries(
        Object.entries(OTHER_ANSWERS).map(([name, answer]) => [name, response(answer, false)]),
      ),
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "The worker's secret SESSIONS_API_TOKEN.",
        },
      },
    },
  };
}

/** The HEAD of a GET route: the same answers and headers, without bodies. */
function headOf(get: RouteDeclaration): RouteDeclaration {
  return {
    ...get,
    method: "head",
    operationId: `${get.operationId}Head`,
    summary: `${get.summary} (headers only)`,
    description: `As GET ${get.path}, without the body.`,
    responses: withoutBodies(get.responses),
  };
}

/** The operation of a method that `path` does not have: 405 with Allow (after the token check). */
function notAllowed(
  path: string,
  method: string,
  allow: readonly string[],
  isPublic: boolean,
): Record<string, unknown> {
  const upper = method.toUpperCase();
  const name = path
    .split("/")
    .filter((part) => part !== "" && part !== "v1")
    .map((part) => part.replace(/[{}]/g, "").replace(/\.json$/, ""))
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
  const ref = (component: string) => ({ $ref: `#/components/responses/${component}` });
  return {
    operationId: `${method}${name}NotAllowed`,
    summary: `${upper} is not allowed here (405)`,
    description: `Answers 405 method_not_allowed; Allow lists the path's methods (${allow.map((m) => m.toUpperCase()).join(", ")}).`,
    ...(isPublic ? { security: [] } : {}),
    responses: isPublic
      ? { 405: ref("MethodNotAllowed") }
      : {
          401: ref("Unauthorized"),
          405: ref("MethodNotAllowed"),
          500: ref("Internal"),
          503: ref("Unavailable"),
        },
  };
}

function operation(route: RouteDeclaration): Record<string, unknown> {
  const parameters = [
    ...Object.entries(route.query ?? {}).map(([name, query]) => ({
      name,
      in: "query",
      required: false,
      description: query.description,
      schema: schemaOf(query.schema),
    })),
    ...Object.entries(route.headers ?? {}).map(([name, header]) => ({
      name,
      in: "header",
      required: false,
      description: header.description,
      schema: schemaOf(header.schema),
    })),
  ];
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: route.description,
    ...(route.public ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            description: route.body.description,
            required: !route.body.optional,
            content: { "application/json": { schema: schemaOf(route.body.schema) } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, answer]) => [status, response(answer)]),
    ),
  };
}

/** An answer; one that `OTHER_ANSWERS` names is a reference to it (unless `shared` is false). */
function response(answer: ResponseDeclaration, shared = true): Record<string, unknown> {
  const name = shared
    ? Object.entries(OTHER_ANSWERS).find(([, other]) => other === answer)?.[0]
    : undefined;
  if (name !== undefined) return { $ref: `#/components/responses/${name}` };
  return {
    description: answer.description,
    ...(answer.headers
      ? {
          headers: Object.fromEntries(
            Object.entries(answer.headers).map(([name, header]) => [
              name,
              {
                description: header.description,
                required: header.required,
                schema: schemaOf(header.schema),
              },
            ]),
          ),
        }
      : {}),
    ...(answer.body !== undefined || answer.text !== undefined
      ? {
          content: {
            ...(answer.body ? { "application/json": { schema: schemaOf(answer.body) } } : {}),
            ...(answer.text
              ? {
                  [answer.text.mediaType]: {
                    schema: { type: "string", description: answer.text.description },
                  },
                }
              : {}),
          },
        }
      : {}),
  };
}

/** A schema as JSON Schema, named schemas as references to `components.schemas`. */
function schemaOf(schema: v.GenericSchema): Record<string, unknown> {
  const { $schema, $defs, ...rest } = toJsonSchema(schema, CONVERSION) as Record<string, unknown>;
  return rest;
}
