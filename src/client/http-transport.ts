import type { Changeset } from "../changeset";
import type { SessionError } from "../errors";
import { type ErrorBody, errorFromBody } from "../result";
import type { AppSettings } from "../settings";
import type { SessionSnapshot } from "../stored-session";
import type { SessionTransport } from "./transport";

/** Options of the HTTP transport. */
export interface HttpTransportOptions {
  /** The API token (`SESSIONS_API_TOKEN` of the session worker). */
  token: string;
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch;
}

/**
 * A transport over the session worker's HTTP API (`/v1`), for edge functions outside Cloudflare
 * and Node programs.
 */
export function httpTransport(
  baseUrl: string,
  app: string,
  options: HttpTransportOptions,
): SessionTransport {
  const { token, fetch: doFetch = globalThis.fetch.bind(globalThis) } = options;
  if (typeof token !== "string" || token.length === 0) {
    throw new TypeError("httpTransport needs the API token of the session worker: { token }.");
  }
  const root = `${baseUrl.replace(/\/+$/, "")}/v1/apps/${encodeURIComponent(app)}`;
  const session = (key: string) => `${root}/sessions/${encodeURIComponent(key)}`;

  /**
   * Sends a request; an error answer throws its typed error. With `absentOk`, a 404 that says
   * "no such session" is an answer (query, has, invalidate); any other 404 (a wrong base URL, an
   * unknown route) still throws.
   */
  const request = async (
    method: string,
    url: string,
    key: string,
    body?: unknown,
    absentOk = false,
  ): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await doFetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.ok) return response;
    if (absentOk && response.status === 404) {
      if (method === "HEAD") return response;
      const error = await errorOf(response, key);
      if (error.code === "not_found") return new Response(null, { status: 404 });
      throw error;
    }
    throw await errorOf(response, key);
  };
  const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

  return {
    open: async (settings: Partial<AppSettings>) => {
      const body = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
      return (await json<{ settings: AppSettings }>(await request("POST", root, "", body)))
        .settings;
    },
    get: async (key) => toSnapshot(await json(await request("POST", session(key), key))),
    query: async (key) => {
      const response = await request("GET", session(key), key, undefined, true);
      return response.status === 404 ? null : toSnapshot(await json(response));
    },
    has: async (key) => (await request("HEAD", session(key), key, undefined, true)).status === 200,
    commit: async (changes: Changeset) => {
      const { key, ...body } = changes;
      const result = await json<SessionSnapshot & { stored?: false }>(
        await request("PATCH", session(key), key, body),
      );
      return result.stored === false ? null : toSnapshot(result);
    },
    invalidate: async (key) =>
      (await request("DELETE", session(key), key, undefined, true)).status === 204,
    regenerate: async (oldKey, newKey) =>
      toSnapshot(
        await json(await request("POST", `${session(oldKey)}/regenerate`, oldKey, { newKey })),
      ),
  };
}

function toSnapshot(body: unknown): SessionSnapshot {
  const { key, sid, version, created, lastModified, data } = body as SessionSnapshot;
  return { key, sid, version, created, lastModified, data };
}

async function errorOf(response: Response, key: string): Promise<SessionError> {
  let body: { error?: Partial<ErrorBody>; current?: SessionSnapshot | null } | undefined;
  try {
    body = (await response.json()) as typeof body;
  } catch {
    body = undefined;
  }
  const code = body?.error?.code ?? `http_${response.status}`;
  const message =
    body?.error?.message ?? `The session API answered ${response.status} ${response.statusText}.`;
  return errorFromBody(
    {
      code,
      message,
      status: response.status,
      current: body?.current,
      keys: body?.error?.keys,
      setting: body?.error?.setting,
      shards: body?.error?.shards,
    },
    key,
  );
}
