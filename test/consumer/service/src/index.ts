// A user's Worker: a Hono app whose sessions live in the session worker, reached by a service
// binding. Each GET / counts one visit in the visitor's session.
import { ServiceSessionManagerFactory } from "edge-sessions";
import { type SessionEnv, sessions } from "edge-sessions/hono";
import { Hono } from "hono";

interface Bindings {
  SESSIONS: Fetcher;
  SESSION_SECRET: string;
}

type Data = { visits: number };

const app = new Hono<{ Bindings: Bindings } & SessionEnv<Data>>();

app.use(
  sessions<Data>({
    // Both built once per isolate, from the first request's env (as the README shows).
    factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, "consumer"),
    secret: (c) => c.env.SESSION_SECRET,
  }),
);

app.get("/", async (c) => {
  const session = c.get("session");
  const visits = ((await session.get("visits")) ?? 0) + 1;
  await session.set("visits", visits);
  return c.json({ visits });
});

export default app;
