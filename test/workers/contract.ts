// The contract check: an answer of the HTTP API against the OpenAPI document the worker serves.
// The schemas are checked by an OpenAPI 3.1 validator (@hyperjump/json-schema, which runs in
// workerd: it interprets schemas instead of compiling them with `new Function`); what is looked
// up here is only which answer of the document applies (path, method, status).
import { addUriSchemePlugin } from "@hyperjump/browser";
import { type Output, type Validator, validate } from "@hyperjump/json-schema/openapi-3-1";
import { openApiDocument } from "../../worker/api/openapi";

/** Where the validator finds the document: served from memory, never fetched. */
const DOCUMENT_URI = "memory://edge-sessions/openapi.json";

addUriSchemePlugin("memory", {
  async retrieve(uri: string) {
    const response = new Response(JSON.stringify(openApiDocument()), {
      headers: { "Content-Type": "application/openapi+json" },
    });
    // The validator takes the document's base URI from the response.
    Object.defineProperty(response, "url", { value: uri.split("#")[0] });
    return response;
  },
});

type Json = Record<string, unknown>;

/** Checks that `response` to `method url` is an answer the document declares; throws if not. */
export async function expectContract(
  method: string,
  url: string,
  response: Response,
): Promise<void> {
  const problems = await contractProblems(method, url, response);
  if (problems.length > 0) {
    throw new Error(
      `${method} ${new URL(url).pathname} answered ${response.status}, which breaks the OpenAPI document:\n- ${problems.join("\n- ")}`,
    );
  }
}

/** What is wrong with `response` to `method url` by the document (nothing: an empty list). */
export async function contractProblems(
  method: string,
  url: string,
  response: Response,
): Promise<string[]> {
  const document = openApiDocument();
  const status = String(response.status);
  const head = method.toUpperCase() === "HEAD";
  const answer = declaredAnswer(document, method.toLowerCase(), new URL(url).pathname, status);
  if (answer === undefined) {
    return [`status ${status} is not declared for this method and path`];
  }
  const problems: string[] = [];
  const declared = resolve(document, answer.pointer) as Json;
  const headers = (declared.headers ?? {}) as Record<string, Json>;
  for (const [name, header] of Object.entries(headers)) {
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required === true) problems.push(`the header ${name} is missing`);
      continue;
    }
    const pointer = `${answer.pointer}/headers/${pointerSegment(name)}/schema`;
    problems.push(...describe(`header ${name}`, value, await validateAt(pointer, value)));
  }
  const text = await response.clone().text();
  const content = declared.content as Record<string, unknown> | undefined;
  if (head || content === undefined) {
    if (text !== "") problems.push(`a body was sent where none is declared: ${text.slice(0, 200)}`);
    return problems;
  }
  const type = response.headers.get("Content-Type") ?? "";
  // Another media type the answer declares (content negotiation): a string of that type.
  const other = Object.keys(content).find(
    (media) => media !== "application/json" && type.split(";")[0]?.trim() === media,
  );
  if (other !== undefined) return problems;
  if (!type.startsWith("application/json")) {
    problems.push(`the Content-Type is ${JSON.stringify(type)}, not application/json`);
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [...problems, `the body is not JSON: ${text.slice(0, 200)}`];
  }
  const pointer = `${answer.pointer}/content/application~1json/schema`;
  problems.push(...describe("body", body, await validateAt(pointer, body)));
  return problems;
}

/**
 * The JSON pointer (into the document) of the answer declared for `status`: the operation's, or
 * for a path the document does not have, or a method a path does not have, the shared answers
 * under `components.responses` (404 no_route, 405, and those of the token check). HEAD without
 * an operation of its own is GET without the body (RFC 9110 §9.3.2).
 */
function declaredAnswer(
  document: Json,
  method: string,
  pathname: string,
  status: string,
): { pointer: string } | undefined {
  const paths = document.paths as Record<string, Record<string, Json>>;
  const template = Object.keys(paths).find((t) => templateRegExp(t).test(pathname));
  const shared: Record<string, string> = {
    "401": "Unauthorized",
    "503": "Unavailable",
    "500": "Internal",
  };
  if (template === undefined) {
    shared["404"] = "NoRoute";
  } else {
    const item = paths[template] as Record<string, Json>;
    const opMethod = item[method] ? method : method === "head" && item.get ? "get" : undefined;
    if (opMethod !== undefined) {
      const responses = (item[opMethod] as Json).responses as Json;
      if (!(status in responses)) return undefined;
      // A shared answer is a reference to components.responses: validate at its target.
      const ref = (responses[status] as Json).$ref;
      if (typeof ref === "string") return { pointer: ref };
      return { pointer: `#/paths/${pointerSegment(template)}/${opMethod}/responses/${status}` };
    }
    shared["405"] = "MethodNotAllowed";
  }
  const name = shared[status];
  return name === undefined ? undefined : { pointer: `#/components/responses/${name}` };
}

function templateRegExp(template: string): RegExp {
  const pattern = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${pattern}$`);
}

/** Compiled validators by pointer: compiling is the slow part. */
const validators = new Map<string, Promise<Validator>>();

async function validateAt(pointer: string, instance: unknown): Promise<Output> {
  let validator = validators.get(pointer);
  if (validator === undefined) {
    // A URI fragment: "{app}" becomes "%7Bapp%7D".
    const fragment = pointer.slice(1).split("/").map(encodeURIComponent).join("/");
    validator = validate(`${DOCUMENT_URI}#${fragment}`);
    validators.set(pointer, validator);
  }
  // FLAG (valid or not) is fast; the details only for an answer that does not fit.
  const compiled = await validator;
  const flag = compiled(instance as never, "FLAG");
  return flag.valid ? flag : compiled(instance as never, "BASIC");
}

function describe(what: string, instance: unknown, output: Output): string[] {
  if (output.valid) return [];
  const where = ((output.valid ? [] : output.errors) ?? [])
    .map(
      (e) => `${e.instanceLocation} fails ${e.absoluteKeywordLocation.replace(DOCUMENT_URI, "")}`,
    )
    .slice(0, 8);
  return [
    `the ${what} ${JSON.stringify(instance).slice(0, 300)} does not fit: ${where.join("; ")}`,
  ];
}

function pointerSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

function resolve(document: Json, pointer: string): unknown {
  return pointer
    .slice(2)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>((node, key) => (node as Json)[key], document);
}
