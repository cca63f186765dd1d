/**
 * The shapes of the declarations: a route with what it takes, the JSON body it reads, and each
 * answer with its headers. `worker/http/routes.ts` registers and validates routes from them, and
 * `worker/api/openapi.ts` writes them into the document.
 */
import type * as v from "valibot";
import type { InputErrorCode } from "../../src/core/errors";

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
  /**
   * A text form of the answer: when the request's Accept prefers it (content negotiation), or the
   * only one, for an answer without a JSON `body` (the dashboard's HTML).
   */
  text?: { mediaType: string; description: string };
  headers?: Record<string, HeaderDeclaration>;
}

/** The JSON body a route reads, and what a body that does not fit it is refused with. */
export interface BodyDeclaration {
  schema: v.GenericSchema;
  /** Whether the body may be left out. */
  optional: boolean;
  description: string;
  /** The error code of a body that does not fit the schema (400). */
  code: InputErrorCode;
  /** How a problem reads in the message; default: as it is. */
  message?: (problem: string) => string;
  /** The code of a problem in one field, where it differs from `code` (e.g. `newKey`). */
  fieldCodes?: Record<string, InputErrorCode>;
}

/** An optional query parameter, and the code of a value that does not fit its schema (400). */
export interface QueryDeclaration {
  description: string;
  schema: v.GenericSchema;
  code: InputErrorCode;
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
  /** Path parameters, validated before anything else (400 `invalid_key`, or `paramCodes`). */
  params?: v.ObjectEntries;
  /** The code of a bad path parameter, where it is not `invalid_key` (e.g. `user`). */
  paramCodes?: Record<string, InputErrorCode>;
  /** Query parameters the route reads, each optional, validated with the path parameters. */
  query?: Record<string, QueryDeclaration>;
  /** Request headers the route reads. */
  headers?: Record<string, { description: string; schema: v.GenericSchema }>;
  body?: BodyDeclaration;
  responses: Record<number, ResponseDeclaration>;
}
