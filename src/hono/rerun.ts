import { type Context, Context as HonoContext, type MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";

/**
 * Runs the handlers after this middleware once more, in a fresh context (`retry`): `prepare`
 * gets the context before they run (to put a new session on it). Resolves to that context, its
 * response or error in it.
 */
export type Rerun = (prepare: (ctx: Context) => void) => Promise<Context>;

/**
 * How the handlers after this middleware can run again for this request, or `undefined` where
 * they cannot (a context Hono's router did not make). Hono has no public API to run a handler
 * chain a second time, so this is the one place that uses its internals: the matched routes
 * (`matchedRoutes`, public) with `c.req.routeIndex` to find the handlers after this one, `compose`'s
 * dispatch order, and a `Context` built for the same `HonoRequest`. It is tested against the
 * oldest and the newest supported Hono (test/workers/hono-versions.test.ts), with the retry tests
 * of the middleware.
 */
export function rerunner(c: Context, upstreamVars: [string, unknown][]): Rerun | undefined {
  let downstream: { handler: MiddlewareHandler; index: number }[];
  try {
    const here = c.req.routeIndex;
    downstream = matchedRoutes(c)
      .map((route, index) => ({ handler: route.handler as MiddlewareHandler, index }))
      .slice(here + 1);
  } catch {
    return undefined;
  }
  return async (prepare) => {
    const ctx = freshContext(c, upstreamVars);
    prepare(ctx);
    await runDownstream(ctx, downstream);
    return ctx;
  };
}

/**
 * Runs `handlers` on `ctx` as Hono's `compose` does; an error is left in `ctx.error` (the app's
 * error handler answers it once the middleware rethrows it).
 */
async function runDownstream(
  ctx: Context,
  handlers: { handler: MiddlewareHandler; index: number }[],
): Promise<void> {
  let last = -1;
  const dispatch = async (i: number): Promise<void> => {
    if (i <= last) throw new Error("next() called multiple times");
    last = i;
    const step = handlers[i];
    if (step === undefined) return;
    ctx.req.routeIndex = step.index;
    const res = await step.handler(ctx, () => dispatch(i + 1));
    if (res instanceof Response && !ctx.finalized) ctx.res = res;
  };
  try {
    await dispatch(0);
  } catch (error) {
    ctx.error = error instanceof Error ? error : new Error(String(error));
  }
}

/** A context for a re-run: the same request (params, cached body), the upstream variables. */
function freshContext(c: Context, vars: [string, unknown][]): Context {
  let executionCtx: Context["executionCtx"] | undefined;
  try {
    executionCtx = c.executionCtx;
  } catch {
    executionCtx = undefined; // none, e.g. in app.request()
  }
  const fresh = new HonoContext(c.req.raw, {
    env: c.env,
    executionCtx,
    notFoundHandler: (ctx: Context) => ctx.text("404 Not Found", 404),
  });
  Object.defineProperty(fresh, "req", { value: c.req });
  for (const [key, value] of vars) fresh.set(key as never, value as never);
  const layout = c.getLayout();
  if (layout !== undefined) fresh.setLayout(layout);
  return fresh;
}
