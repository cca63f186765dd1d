// The counter example's app: login, a counter and logout, with the session in edge sessions,
// reached through a service binding to the session worker's `SessionService` entrypoint.
//
// This file imports the library by relative path because it lives inside the library's own repo,
// which is not installed into itself. An app outside this repo imports the same names as
//   import { ServiceSessionManagerFactory } from "edge-sessions";
//   import { sessions } from "edge-sessions/hono";
import { Hono, type MiddlewareHandler } from "hono";
import { html } from "hono/html";
import { sessions } from "../../../src/hono/index";
import { ConflictError, ServiceSessionManagerFactory, SessionError } from "../../../src/index";

/** The example's bindings (examples/counter/wrangler.toml). */
export interface Bindings {
  /** Service binding to the worker `edge-sessions`, `entrypoint = "SessionService"`. */
  SESSIONS: Fetcher;
  /** Signs the session cookie; at least 32 characters (`.dev.vars` locally). */
  SESSION_SECRET: string;
}

/** The edge sessions app that holds this example's sessions. */
export const APP_NAME = "counter";

/** Longest user name accepted at login. */
const MAX_USER_LENGTH = 64;

// One middleware (and so one factory, which opens the app once) per `env` object: `env` is the
// same for every request an isolate serves, so this builds it once per isolate.
const middlewares = new WeakMap<Bindings, MiddlewareHandler>();

function sessionMiddleware(env: Bindings): MiddlewareHandler {
  let middleware = middlewares.get(env);
  if (middleware === undefined) {
    middleware = sessions({
      factory: new ServiceSessionManagerFactory(env.SESSIONS, APP_NAME),
      secret: env.SESSION_SECRET,
    });
    middlewares.set(env, middleware);
  }
  return middleware;
}

/** The example app (the Worker, src/index.ts, serves it). */
export const app = new Hono<{ Bindings: Bindings }>();

app.use((c, next) => sessionMiddleware(c.env)(c, next));

app.get("/", async (c) => {
  const session = c.get("session");
  const user = await session.get<string>("user");
  const count = (await session.get<number>("count")) ?? 0;
  const notice = await session.flash<string>("notice");
  return c.html(html`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>edge sessions: counter</title></head>
  <body>
    ${notice === undefined ? "" : html`<p role="status" id="flash">${notice}</p>`}
    ${
      user === undefined
        ? html`<p id="user">Not logged in.</p>
    <form method="post" action="/login">
      <label>User <input name="user" required maxlength="${MAX_USER_LENGTH}" /></label>
      <button>Log in</button>
    </form>`
        : html`<p id="user">Logged in as <strong>${user}</strong>.</p>
    <p>Count: <output id="count">${count}</output></p>
    <form method="post" action="/count"><button>Count</button></form>
    <form method="post" action="/logout"><button>Log out</button></form>`
    }
  </body>
</html>
`);
});

// The forms post back and are redirected to `/` (303, so the browser follows with a GET).
// Cross-site posts carry no session cookie: the middleware's cookie is SameSite=Lax.

app.post("/login", async (c) => {
  const form = await c.req.parseBody();
  const user = typeof form.user === "string" ? form.user.trim() : "";
  if (user === "" || user.length > MAX_USER_LENGTH) {
    return c.text(`Give a user name of 1 to ${MAX_USER_LENGTH} characters.`, 400);
  }
  const session = c.get("session");
  // A new session ID at login, so an ID planted before it is worth nothing (session fixation).
  await session.regenerate();
  await session.set("user", user);
  await session.set("count", 0);
  await session.flash("notice", "welcome");
  return c.redirect("/", 303);
});

app.post("/count", async (c) => {
  const session = c.get("session");
  if ((await session.get("user")) === undefined) return c.text("Log in first.", 401);
  const count = ((await session.get<number>("count")) ?? 0) + 1;
  await session.set("count", count);
  return c.redirect("/", 303);
});

app.post("/logout", async (c) => {
  // Ends the session in the session manager and clears the cookie.
  await c.get("session").destroy();
  return c.redirect("/", 303);
});

// The middleware commits after the handler; a commit can be refused, e.g. two counts of one
// session at once (both change "count"). The error knows its status; say what to do.
app.onError((error, c) => {
  if (error instanceof ConflictError) {
    return c.text("The session changed in another request at the same time; try again.", 409);
  }
  if (error instanceof SessionError) {
    return c.text(error.message, error.status as 400 | 404 | 409 | 413 | 503);
  }
  console.error(error);
  return c.text("Internal error", 500);
});
