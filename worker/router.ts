import { SessionRouter } from "../src/routing/router";
import { type Result, unwrap } from "../src/routing/wire";

const routers = new WeakMap<object, SessionRouter>();

/**
 * The session operations of every app, routed to the Durable Object that holds each key (an app
 * spreads over `shards` objects). One router per isolate and namespace, so each app's shard count
 * is learned once. Optional placement for data residency comes from the worker's vars
 * `SESSIONS_JURISDICTION` (e.g. `eu`) and `SESSIONS_LOCATION_HINT` (e.g. `weur`).
 *
 * @example
 * const result = await sessionRouter(env).query("shop", "abc");
 */
export function sessionRouter(env: Cloudflare.Env): SessionRouter {
  let router = routers.get(env.SESSION_MANAGER);
  if (router === undefined) {
    const vars = env as { SESSIONS_JURISDICTION?: string; SESSIONS_LOCATION_HINT?: string };
    router = new SessionRouter(env.SESSION_MANAGER, {
      jurisdiction: vars.SESSIONS_JURISDICTION || undefined,
      locationHint: vars.SESSIONS_LOCATION_HINT || undefined,
    });
    routers.set(env.SESSION_MANAGER, router);
  }
  return router;
}

/**
 * Awaits a Durable Object call and unwraps its `Result`: the value, or the typed error thrown
 * (so that it reaches `onError`).
 */
export async function unwrapCall<T>(call: Promise<Result<T>>): Promise<T> {
  return unwrap(await call);
}
