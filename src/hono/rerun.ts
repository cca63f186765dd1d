import { type Context, Context as HonoContext, type MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";

/** A handler (or middleware) after this one in the matched chain, with its route index. */
export interface Downstream {
  handler: MiddlewareHandler;
  index: number;
}

/** The handlers that run after this middleware for this request, to run them again. */
export function downstreamOf(c: Context): Downstream[] | undefined {
  try {
    const here = c.req.routeIndex;
    return matchedRoutes(c)
      .map((route, index) => ({ handler: route.handler as MiddlewareHandler, index }))
      .slice(here + 1);
  } catch {
    return undefined; // a context Hono's router did not make: no re-run, the conflict answers
  }
}

/**
 * Runs `handlers` on `ctx` as Hono's `compose` does; an error is left in `ctx.error` (the app's
 * error handler answers it once the middleware rethrows it).
 */
export async function runDownstream(ctx: Context, handlers: Downstream[]): Promise<void> {
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
export function freshContext(c: Context, vars: [string, unknown][]): Context {
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
