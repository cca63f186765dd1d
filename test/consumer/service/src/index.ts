// A user's Worker: a Hono app whose sessions live in the session worker, reached by a service
// binding. Each GET / counts one visit in the visitor's session.
import { ServiceSessionManagerFactory } from "edge-sessions";
import { sessions } from "edge-sessions/hono";
import { Hono, type MiddlewareHandler } from "hono";

interface Bindings {
  SESSIONS: Fetcher;
  SESSION_SECRET: string;
}

// One middleware per isolate (env is the same object for all its requests).
const middlewares = new WeakMap<Bindings, MiddlewareHandler>();

const app = new Hono<{ Bindings: Bindings }>();

app.use((c, next) => {
  let middleware = middlewares.get(c.env);
  if (middleware === undefined) {
    middleware = sessions({
      factory: new ServiceSessionManagerFactory(c.env.SESSIONS, "consumer"),
      secret: c.env.SESSION_SECRET,
    });
    middlewares.set(c.env, middleware);
  }
  return middleware(c, next);
});

app.get("/", async (c) => {
  const session = c.get("session");
  const visits = ((await session.get<number>("visits")) ?? 0) + 1;
  await session.set("visits", visits);
  return c.json({ visits });
});

export default app;
