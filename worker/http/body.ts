import type { Context } from "hono";
import { MAX_SESSION_BYTES_LIMIT } from "../../src/core/settings";
import { HttpError } from "./errors";

/**
 * The largest request body accepted, in bytes: the largest session an app may hold (1 MiB) plus
 * 64 KiB for the JSON around it (changeset fields, escaping).
 */
export const MAX_BODY_BYTES = MAX_SESSION_BYTES_LIMIT + 64 * 1024;

/** Options of `readJsonBody`. */
export interface ReadJsonBodyOptions {
  /** Largest body in bytes. Default `MAX_BODY_BYTES`. */
  limit?: number;
  /** Whether a request without a body (and without a Content-Type) is fine. Default false. */
  optional?: boolean;
}

/**
 * The request body parsed as JSON, checked on the way: the media type must be
 * `application/json` (415 `unsupported_media_type`), the body at most `limit` bytes by its
 * `Content-Length` and by what actually arrives (413 `body_too_large`), valid UTF-8 and valid
 * JSON (400 `invalid_json`). With `optional`, a request without a body gives `undefined`.
 *
 * @example
 * const changes = parseChangeset(key, await readJsonBody(c));
 */
export async function readJsonBody(
  c: Context,
  { limit = MAX_BODY_BYTES, optional = false }: ReadJsonBodyOptions = {},
): Promise<unknown> {
  const contentType = c.req.header("Content-Type");
  if (contentType !== undefined || !optional) requireJsonMediaType(contentType);
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const bytes = await readAtMost(c.req.raw.body, limit);
  if (contentType === undefined) {
    // Only reached with `optional`: no body is fine, a body without a media type is not.
    if (bytes.byteLength > 0) requireJsonMediaType(contentType);
    return undefined;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HttpError(
      "invalid_json",
      "The request body is not valid UTF-8. Send JSON text encoded as UTF-8.",
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(
      "invalid_json",
      text.trim() === ""
        ? "The request body is empty. Send a JSON object."
        : "The request body is not valid JSON. Send a JSON object.",
    );
  }
}

function requireJsonMediaType(contentType: string | undefined): void {
  const [type = "", ...params] = (contentType ?? "").split(";").map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith("charset="))?.slice("charset=".length);
  const utf8 = charset === undefined || ["utf-8", "utf8", '"utf-8"'].includes(charset);
  if (type !== "application/json" || !utf8) {
    throw new HttpError(
      "unsupported_media_type",
      `Send the body as JSON with "Content-Type: application/json" (got ${contentType === undefined ? "no Content-Type" : JSON.stringify(contentType)}).`,
    );
  }
}

/** Reads the whole stream, giving up with 413 as soon as more than `limit` bytes arrived. */
async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number) {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    "body_too_large",
    `The request body is over ${limit} bytes. Sessions hold at most 1 MiB of data; send less.`,
  );
}
