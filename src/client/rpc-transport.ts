import type { Changeset } from "../core/changeset.js";
import { isStored, type SessionView } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import type { SessionManagerRpc } from "../routing/wire.js";
import { errorFromBody, type Result, unwrap } from "../routing/wire.js";
import { serviceError, type TransportOptions, timeoutOf, withTimeout } from "./service-errors.js";
import type { SessionTransport } from "./transport.js";

/** How often a call that failed with a `retryable` (and not `overloaded`) error is tried again. */
const RETRIES = 3;

/**
 * A transport over Workers RPC: `target()` gives the object (or service) to call. Reads that
 * fail with an error the runtime marks `retryable` are retried a few times on a fresh target, as
 * Cloudflare documents; `overloaded` ones never (retrying would add load), and changes never (they
 * are not idempotent).
 *
 * Every failure is typed: the service's refusals as their `SessionError`, a call the runtime
 * could not complete as `SessionUnavailableError` (503) or `SessionOverloadedError` (503), and one
 * that took longer than `callTimeout` as `SessionTimeoutError` (504).
 */
export function rpcTransport(
  app: string,
  target: () => SessionManagerRpc,
  options: TransportOptions = {},
): SessionTransport {
  const timeout = timeoutOf(options);
  /** A call that is retried (`idempotent`: it changes nothing, or nothing more the second time). */
  const call = async <T>(
    what: string,
    fn: (rpc: SessionManagerRpc) => Promise<Result<T>>,
    idempotent = true,
  ): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      let result: Result<T>;
      try {
        result = await withTimeout(
          timeout,
          what,
          Promise.resolve().then(() => fn(target())),
        );
      } catch (error) {
        if (!idempotent || attempt >= RETRIES || !isRetryable(error)) {
          throw serviceError(error, what);
        }
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        continue;
      }
      return unwrap(result);
    }
  };
  return {
    open: (settings: Partial<AppSettings>) => call("open", (rpc) => rpc.open(app, settings)),
    // Reads take the session as an object: for sessions of a few hundred bytes the compact form
    // (getViewJson, JSON text parsed here) measured no faster over RPC (BENCHMARKS.md).
    get: (key) => call("get", (rpc) => rpc.get(app, key)),
    query: (key) => call("query", (rpc) => rpc.query(app, key)),
    has: (key) => call("has", (rpc) => rpc.has(app, key)),
    // Changes are never retried: a commit that was applied before the connection broke would be
    // applied twice (or answer a conflict with itself). The caller sees the error and re-reads.
    commit: (changes: Changeset) =>
      call("commit", (rpc) => rpc.commit(app, changes), false).then((result) =>
        isStored(result) ? result : null,
      ),
    // One call for the lot; each changeset's own refusal becomes its typed error.
    commitMany: (changes: Changeset[]) =>
      call("commitMany", (rpc) => rpc.commitMany(app, changes), false).then((results) =>
        results.map(
          (result, i): PromiseSettledResult<SessionView | null> =>
            result.ok
              ? { status: "fulfilled", value: isStored(result.value) ? result.value : null }
              : { status: "rejected", reason: errorFromBody(result.error, changes[i]?.key) },
        ),
      ),
    invalidate: (key) => call("invalidate", (rpc) => rpc.invalidate(app, key), false),
    regenerate: (oldKey, newKey) =>
      call("regenerate", (rpc) => rpc.regenerate(app, oldKey, newKey), false),
    signIn: (changes, user, labels) =>
      call("signIn", (rpc) => rpc.signIn(app, changes, user, labels), false),
    userSessions: (user, own) => call("userSessions", (rpc) => rpc.userSessions(app, user, own)),
    endUserSessions: (user, which) =>
      call("endUserSessions", (rpc) => rpc.endUserSessions(app, user, which), false),
    // Asked again, a deletion answers how far it has come: retried as a read is.
    deleteApp: () => call("deleteApp", (rpc) => rpc.deleteApp(app)),
    metrics: () => call("metrics", (rpc) => rpc.metrics(app)),
  };
}

/** Whether a read that failed is tried again: the runtime says `retryable`, and not `overloaded`. */
function isRetryable(error: unknown): boolean {
  const e = error as { retryable?: unknown; overloaded?: unknown } | null;
  return e?.retryable === true && e.overloaded !== true;
}
