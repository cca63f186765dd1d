import { objectName, type Result, type SessionManagerRpc, unwrap } from "../src/index";

/**
 * The Durable Object that holds `key` of `app` (the app's only object while apps have one
 * shard), typed as the RPC surface it offers. Validate `app` and `key` before calling: reaching
 * an object costs a round trip.
 *
 * @example
 * const result = await sessionManager(env, "shop", "abc").query("shop", "abc");
 */
export function sessionManager(env: Cloudflare.Env, app: string, key?: string): SessionManagerRpc {
  // The interface spares TypeScript the deep RPC types of JSON data; the stub offers each method.
  return env.SESSION_MANAGER.getByName(objectName(app, key)) as unknown as SessionManagerRpc;
}

/**
 * Awaits a Durable Object call and unwraps its `Result`: the value, or the typed error thrown
 * (so that it reaches `onError`).
 */
export async function unwrapCall<T>(call: Promise<Result<T>>): Promise<T> {
  return unwrap(await call);
}
