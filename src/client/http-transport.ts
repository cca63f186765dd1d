import type { Changeset } from "../core/changeset.js";
import {
  type SessionError,
  SessionOverloadedError,
  SessionTimeoutError,
  SessionUnavailableError,
} from "../core/errors.js";
import { type SessionSnapshot, type SessionView, sessionView } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import {
  type AppDeletion,
  errorFromBody,
  knownCode,
  type ReceivedErrorBody,
} from "../routing/wire.js";
import { serviceError, type TransportOptions, timeoutError, timeoutOf } from "./service-errors.js";
import type { SessionTransport } from "./transport.js";

/** Options of the HTTP transport. */
export interface HttpTransportOptions extends TransportOptions {
  /** The API token (`SESSIONS_API_TOKEN` of the session worker). */
  token: string;
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof fetch;
}

/**
 * A transport over the session worker's HTTP API (`/v1`), for edge functions outside Cloudflare
 * and Node programs. Every failure is typed: the API's error answers as their `SessionError`; a
 * network failure, or a 502/503 that is not the API's own answer, as `SessionUnavailableError`;
 * a 429 as `SessionOverloadedError`; no answer within `callTimeout` (or a 504) as
 * `SessionTimeoutError`.
 */
export function httpTransport(
  baseUrl: string,
  app: string,
  options: HttpTransportOptions,
): SessionTransport {
  const { token, fetch: doFetch = globalThis.fetch.bind(globalThis) } = options;
  const timeout = timeoutOf(options);
  if (typeof token !== "string" || token.length === 0) {
    throw new TypeError("httpTransport needs the API token of the session worker: { token }.");
  }
  const root = `${baseUrl.replace(/\/+$/, "")}/v1/apps/${encodeURIComponent(app)}`;
  const session = (key: string) => `${root}/sessions/${encodeURIComponent(key)}`;
  const userSessions = (user: string) => `${root}/users/${encodeURIComponent(user)}/sessions`;

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
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeout),
      });
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (name === "TimeoutError") throw timeoutError(timeout, method, error);
      throw serviceError(error, method);
    }
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
    signIn: async (changes, user, labels) => {
      const { key, ...rest } = changes;
      const body = labels === undefined ? { user, changes: rest } : { user, labels, changes: rest };
      return toSnapshot(await json(await request("POST", `${session(key)}/sign-in`, key, body)));
    },
    userSessions: async (user, own) => {
      const query = own === undefined ? "" : `?own=${encodeURIComponent(own)}`;
      return json(await request("GET", `${userSessions(user)}${query}`, ""));
    },
    endUserSessions: async (user, which) => {
      const url =
        "handle" in which
          ? `${userSessions(user)}/${encodeURIComponent(which.handle)}`
          : "except" in which
            ? `${userSessions(user)}?except=${encodeURIComponent(which.except)}`
            : userSessions(user);
      return (await json<{ ended: number }>(await request("DELETE", url, ""))).ended;
    },
    // 202 while the work goes on, 200 once done: the body says which.
    deleteApp: async () => json<AppDeletion>(await request("DELETE", root, "")),
    metrics: async () => json(await request("GET", `${root}/metrics`, "")),
  };
}

/** The session of a response body: exactly a `SessionView`, as RPC hands it out. */
function toSnapshot(body: unknown): SessionView {
  return sessionView(body as SessionSnapshot);
}

async function errorOf(response: Response, key: string): Promise<SessionError> {
  let body: { error?: Partial<ReceivedErrorBody>; current?: SessionView | null } | undefined;
  try {
    body = (await response.json()) as typeof body;
  } catch {
    body = undefined;
  }
  const failure = serviceFailure(response, body?.error);
  if (failure !== undefined) return failure;
  // No code: not the API's JSON error (a proxy's page), a code `unknown_error` stands for.
  const code = body?.error?.code ?? "unknown_error";
  const message =
    body?.error?.message ?? `The session API answered ${response.status} ${response.statusText}.`;
  // Every field of the typed error travels in `error` (and `current` beside it), as over RPC.
  return errorFromBody(
    { ...body?.error, code, message, status: response.status, current: body?.current },
    key,
  );
}

/**
 * The typed error of an answer that says the service could not serve: 429, 502, 503, 504. The
 * API's own JSON error keeps its code; a proxy's page gets the class's code.
 */
function serviceFailure(
  response: Response,
  error: Partial<ReceivedErrorBody> | undefined,
): SessionError | undefined {
  const { status } = response;
  const apiCode = typeof error?.code === "string" ? knownCode(error.code) : undefined;
  // The API's own refusal, not a failure to serve: nothing was changed (as over RPC).
  if (apiCode === "app_deleting") return undefined;
  const options = { status, ...(apiCode === undefined ? {} : { code: apiCode }) };
  const said =
    typeof error?.message === "string" ? error.message : `${status} ${response.statusText}`;
  if (status === 429) {
    return new SessionOverloadedError(
      `The session service is overloaded (${said}). Answer 503 and let the client retry later.`,
      options,
    );
  }
  if (status === 504) {
    return new SessionTimeoutError(
      `A gateway in front of the session service timed out (${said}). Retry later; a change sent with the request may have been applied, so read the session again first.`,
      options,
    );
  }
  if (status === 502 || status === 503) {
    return new SessionUnavailableError(
      `The session service is unavailable (${said}). Retry later; a change sent with the request may have been applied, so read the session again first.`,
      options,
    );
  }
  return undefined;
}
