import type { Changeset } from "../changeset";
import type { SessionManagerRpc } from "../protocol";
import { errorFromBody, unwrap } from "../result";
import type { AppSettings } from "../settings";
import type { SessionSnapshot } from "../stored-session";
import type { SessionTransport } from "./transport";

/** How often a call that failed with a `retryable` (and not `overloaded`) error is tried again. */
const RETRIES = 3;

/**
 * A transport over Workers RPC: `target(key)` gives the object (or service) to call. Reads that
 * fail with an error the runtime marks `retryable` are retried a few times on a fresh target, as
 * Cloudflare documents; `overloaded` ones never (retrying would add load), and changes never (they
 * are not idempotent).
 */
export function rpcTransport(
  app: string,
  target: (key: string) => SessionManagerRpc,
): SessionTransport {
  /** A call that is retried (`idempotent`: it changes nothing, or nothing more the second time). */
  const call = async <T>(
    key: string,
    fn: (rpc: SessionManagerRpc) => Promise<T>,
    idempotent = true,
  ): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(target(key));
      } catch (error) {
        if (!idempotent || attempt >= RETRIES || !isRetryable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
    }
  };
  return {
    open: (settings: Partial<AppSettings>) =>
      call("", async (rpc) => unwrap(await rpc.open(app, settings))),
    // Reads take the snapshot as an object: for sessions of a few hundred bytes the compact form
    // (getView, JSON text parsed here) measured no faster over RPC (BENCHMARKS.md).
    get: (key) => call(key, async (rpc) => unwrap(await rpc.get(app, key))),
    query: (key) => call(key, async (rpc) => unwrap(await rpc.query(app, key))),
    has: (key) => call(key, async (rpc) => unwrap(await rpc.has(app, key))),
    // Changes are never retried: a commit that was applied before the connection broke would be
    // applied twice (or answer a conflict with itself). The caller sees the error and re-reads.
    commit: (changes: Changeset) =>
      call(changes.key, async (rpc) => unwrap(await rpc.commit(app, changes)), false),
    commitMany: (changes: Changeset[]) =>
      call(
        changes[0]?.key ?? "",
        async (rpc) =>
          unwrap(await rpc.commitMany(app, changes)).map(
            (result, i): PromiseSettledResult<SessionSnapshot | null> =>
              result.ok
                ? { status: "fulfilled", value: result.value }
                : { status: "rejected", reason: errorFromBody(result.error, changes[i]?.key) },
          ),
        false,
      ),
    invalidate: (key) => call(key, async (rpc) => unwrap(await rpc.invalidate(app, key)), false),
    regenerate: (oldKey, newKey) =>
      call(oldKey, async (rpc) => unwrap(await rpc.regenerate(app, oldKey, newKey)), false),
  };
}

function isRetryable(error: unknown): boolean {
  const e = error as { retryable?: unknown; overloaded?: unknown } | null;
  return e?.retryable === true && e.overloaded !== true;
}
