import type { Changeset } from "../changeset";
import type { SessionManagerRpc } from "../protocol";
import { unwrap } from "../result";
import type { AppSettings } from "../settings";
import type { SessionTransport } from "./transport";

/** How often a call that failed with a `retryable` (and not `overloaded`) error is tried again. */
const RETRIES = 3;

/**
 * A transport over Workers RPC: `target(key)` gives the object (or service) to call. Errors the
 * runtime marks `retryable` are retried a few times on a fresh target, as Cloudflare documents;
 * `overloaded` ones never (retrying would add load).
 */
export function rpcTransport(
  app: string,
  target: (key: string) => SessionManagerRpc,
): SessionTransport {
  const call = async <T>(key: string, fn: (rpc: SessionManagerRpc) => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(target(key));
      } catch (error) {
        if (attempt >= RETRIES || !isRetryable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
    }
  };
  return {
    open: (settings: Partial<AppSettings>) =>
      call("", async (rpc) => unwrap(await rpc.open(app, settings))),
    get: (key) => call(key, async (rpc) => unwrap(await rpc.get(app, key))),
    query: (key) => call(key, async (rpc) => unwrap(await rpc.query(app, key))),
    has: (key) => call(key, async (rpc) => unwrap(await rpc.has(app, key))),
    commit: (changes: Changeset) =>
      call(changes.key, async (rpc) => unwrap(await rpc.commit(app, changes))),
    invalidate: (key) => call(key, async (rpc) => unwrap(await rpc.invalidate(app, key))),
    regenerate: (oldKey, newKey) =>
      call(oldKey, async (rpc) => unwrap(await rpc.regenerate(app, oldKey, newKey))),
  };
}

function isRetryable(error: unknown): boolean {
  const e = error as { retryable?: unknown; overloaded?: unknown } | null;
  return e?.retryable === true && e.overloaded !== true;
}
