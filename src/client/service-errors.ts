import {
  SessionError,
  SessionOverloadedError,
  SessionTimeoutError,
  SessionUnavailableError,
} from "../core/errors.js";

/** How long a client waits for one call to the session service unless told otherwise (ms). */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** Options every transport takes. */
export interface TransportOptions {
  /**
   * Milliseconds to wait for one call before it fails with `SessionTimeoutError` (504). Default
   * 10 000. A change sent with a call that timed out may still have been applied. (Not the app's
   * `timeout`, which is the sessions' inactivity timeout in seconds.)
   */
  callTimeout?: number;
}

/** Checks a `callTimeout` option; a wrong one is a programming error, refused at once. */
export function timeoutOf({ callTimeout = DEFAULT_CALL_TIMEOUT_MS }: TransportOptions): number {
  if (typeof callTimeout !== "number" || !(callTimeout > 0) || !Number.isFinite(callTimeout)) {
    throw new TypeError(
      `The session client's callTimeout must be a positive number of milliseconds, got ${String(callTimeout)}.`,
    );
  }
  return callTimeout;
}

/**
 * Runs `call`; when it takes longer than `ms`, rejects with `SessionTimeoutError` (the call
 * itself cannot be cancelled over RPC: its answer, if any, is dropped).
 */
export async function withTimeout<T>(ms: number, what: string, call: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(ms, what)), ms);
  });
  try {
    return await Promise.race([call, timedOut]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** The typed error of a call that did not answer in time. */
export function timeoutError(ms: number, what: string, cause?: unknown): SessionTimeoutError {
  return new SessionTimeoutError(
    `The session service did not answer its "${what}" call within ${ms} ms. Retry later; a change sent with it may have been applied, so read the session again first.`,
    { cause },
  );
}

/**
 * The typed form of an error a call to the session service failed with. A `SessionError` (an
 * answer of the service) is kept; an overloaded object becomes `SessionOverloadedError`;
 * anything else the runtime or `fetch` raised (connection lost, object reset, no such binding)
 * becomes `SessionUnavailableError`. Messages carry the runtime's words, never session data.
 */
export function serviceError(error: unknown, what: string): SessionError {
  if (error instanceof SessionError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  if ((error as { overloaded?: unknown } | null)?.overloaded === true) {
    return new SessionOverloadedError(
      `The session service is overloaded and refused a "${what}" call (${detail}). Answer 503 and let the client retry later.`,
      { cause: error },
    );
  }
  return new SessionUnavailableError(
    `The session service could not be reached for a "${what}" call (${detail}). Check the binding or URL; retry later. A change sent with it may have been applied, so read the session again first.`,
    { cause: error },
  );
}
