import { type ConversionConfig, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import type * as v from "valibot";
import {
  NAMED_SCHEMAS,
  OTHER_ANSWERS,
  type ResponseDeclaration,
  ROUTES,
  type RouteDeclaration,
} from "./api-schema";

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
 * The OpenAPI 3.1 document of the HTTP API, built from the declarations in `worker/api-schema.ts`
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

function buildDocument(): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of Object.values(ROUTES) as RouteDeclaration[]) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge sessions",
      version: API_VERSION,
      description:
        "Server-side sessions for Cloudflare Workers over HTTP: get, query, has, commit, invalidate and regenerate sessions, and open, configure and read apps. Every /v1 route needs the API token as a bearer token (except this document). Every error is { error: { code, message } } with a fitting status; conflicts add error.keys and current. Reads answer a strong ETag (sid and version); PATCH and DELETE take it as If-Match, GET as If-None-Match.",
      license: { name: "MIT", identifier: "MIT" },
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: toJsonSchemaDefs(NAMED_SCHEMAS, CONVERSION),
      responses: Object.fromEntries(
        Object.entries(OTHER_ANSWERS).map(([name, answer]) => [name, response(answer)]),
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

function operation(route: RouteDeclaration): Record<string, unknown> {
  const parameters = [
    ...Object.entries(route.params ?? {}).map(([name, schema]) => ({
      name,
      in: "path",
      required: true,
      schema: schemaOf(schema),
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

function response(answer: ResponseDeclaration): Record<string, unknown> {
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
    ...(answer.body ? { content: { "application/json": { schema: schemaOf(answer.body) } } } : {}),
  };
}

/** A schema as JSON Schema, named schemas as references to `components.schemas`. */
function schemaOf(schema: v.GenericSchema): Record<string, unknown> {
  const { $schema, $defs, ...rest } = toJsonSchema(schema, CONVERSION) as Record<string, unknown>;
  return rest;
}
