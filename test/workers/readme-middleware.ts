// The Hono middleware snippet of docs/hono.md (its first block), as a consumer Worker would hold
// it. test/core/readme.test.ts checks that the code between the markers is the guide's, word for
// word (but for the import paths); test/workers/readme-middleware.test.ts runs it.

/** The bindings `wrangler types` would declare for the consumer Worker. */
export type Env = { SESSIONS: Fetcher; SESSION_SECRET: string };

// README: begin
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { type SessionEnv, sessions } from "../../src/hono/index";
import { ServiceSessionManagerFactory } from "../../src/index";

type Data = { user: string; count: number }; // typed: get("count") is a number | undefined

const app = new Hono<{ Bindings: Env } & SessionEnv<Data>>();
app.use(csrf()); // Hono's own CSRF check: form posts from other sites get 403
app.use(
  sessions<Data>({
    // Both built once per isolate, from the first request's env.
    factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, "shop"),
    secret: (c) => c.env.SESSION_SECRET, // ≥ 32 characters; a list rotates secrets
    maxAge: 7 * 24 * 3600, // optional absolute lifetime, on top of the inactivity timeout
  }),
);
app.post("/count", async (c) => {
  const session = c.get("session");
  const count = ((await session.get("count")) ?? 0) + 1;
  await session.set("count", count);
  return c.json({ count }); // sent only once the count is stored (else 409, see below)
});
app.post("/login", async (c) => {
  const session = c.get("session");
  await session.regenerate(); // new ID, same data, old ID ended: against session fixation
  await session.set("user", "fred");
  await session.flash("notice", "Welcome!"); // read once by the next request: session.flash("notice")
  return c.redirect("/", 303);
});
app.post("/logout", async (c) => {
  await c.get("session").destroy(); // ended, cookie cleared
  return c.redirect("/", 303);
});

export default app;
// README: end
