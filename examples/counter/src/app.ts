// The counter example's app: a counter, login and logout, and a "your devices" page
// (src/devices.ts), with the session in edge sessions, reached through a service binding to the
// session worker's `SessionService` entrypoint.
//
// This file imports the library by relative path because it lives inside the library's own repo,
// which is not installed into itself. An app outside this repo imports the same names as
//   import { ServiceSessionManagerFactory, SessionError } from "edge-sessions";
//   import { type SessionEnv, sessions } from "edge-sessions/hono";
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { html } from "hono/html";
import { HTTPException } from "hono/http-exception";
import { type SessionEnv, sessions } from "../../../src/hono/index";
import {
  ServiceSessionManagerFactory,
  SessionError,
  SessionUnavailableError,
} from "../../../src/index";
import { DEVICE_FIELD, deviceLabel, devices, MAX_DEVICE_LENGTH } from "./devices";

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

/**
 * What the example keeps in a session: `get("count")` is a `number | undefined`. Who is logged in
 * is not data: `session.login(user)` binds the session to the user (`session.user()`).
 */
export type Data = { count: number };

/** The example app (the Worker, src/index.ts, serves it). */
export const app = new Hono<{ Bindings: Bindings } & SessionEnv<Data>>();

// Hono's own CSRF check: a form posted from another site (by its Origin or Sec-Fetch-Site) is
// refused with 403 before any session work. The SameSite=Lax cookie is a second line.
app.use(csrf());
app.use(
  sessions<Data>({
    // Built once per isolate, from the first request's env.
    factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, APP_NAME),
    secret: (c) => c.env.SESSION_SECRET,
    // Every handler here changes nothing but the session, so one that met a concurrent change
    // of the same keys (two counts at once) can simply run again on the stored value.
    retry: 3,
    onConflict: (c) =>
      c.text("The session changed in another request at the same time; try again.", 409),
  }),
);

app.get("/", async (c) => {
  const session = c.get("session");
  const user = await session.user();
  const count = (await session.get("count")) ?? 0;
  const notice = await session.flash<string>("notice");
  return c.html(html`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>edge sessions: counter</title></head>
  <body>
    ${notice === undefined ? "" : html`<p role="status" id="flash">${notice}</p>`}
    ${
      user === null
        ? html`<p id="user">Not logged in.</p>
    <form method="post" action="/login">
      <label>User <input name="user" required maxlength="${MAX_USER_LENGTH}" /></label>
      <label>Device <input name="${DEVICE_FIELD}" maxlength="${MAX_DEVICE_LENGTH}"
        placeholder="from your browser" /></label>
      <button>Log in</button>
    </form>`
        : html`<p id="user">Logged in as <strong>${user}</strong>.</p>
    <p><a href="/devices" id="devices-link">Your devices</a></p>`
    }
    <p>Count: <output id="count">${count}</output></p>
    <form method="post" action="/count"><button id="count-button">Count</button></form>
    ${
      user === null
        ? ""
        : html`<form method="post" action="/logout"><button>Log out</button></form>`
    }
  </body>
</html>
`);
});

// The forms post back and are redirected to `/` (303, so the browser follows with a GET).

app.post("/count", async (c) => {
  const session = c.get("session");
  await session.set("count", ((await session.get("count")) ?? 0) + 1);
  return c.redirect("/", 303);
});

app.post("/login", async (c) => {
  const form = await c.req.parseBody();
  const user = typeof form.user === "string" ? form.user.trim() : "";
  if (user === "" || user.length > MAX_USER_LENGTH) {
    return c.text(`Give a user name of 1 to ${MAX_USER_LENGTH} characters.`, 400);
  }
  const session = c.get("session");
  // Binds the session to the user, under a new session ID, so an ID planted before it is worth
  // nothing (session fixation). The count made before logging in moves along with it. The label
  // names this device on the devices page.
  await session.login(user, {
    device: deviceLabel(form[DEVICE_FIELD], c.req.header("user-agent")),
  });
  await session.flash("notice", "welcome");
  return c.redirect("/", 303);
});

app.post("/logout", async (c) => {
  // Ends the session in the session manager and clears the cookie.
  await c.get("session").destroy();
  return c.redirect("/", 303);
});

// The "your devices" page: the user's sessions, signed out one by one or all but this one.
app.route("/devices", devices);

// Errors of the session service know their status: 503/504 when it cannot be reached (the
// request then stored nothing), 413 when a session grows too large.
app.onError((error, c) => {
  // Hono's own refusals, such as csrf()'s 403, carry their response.
  if (error instanceof HTTPException) return error.getResponse();
  if (error instanceof SessionUnavailableError) {
    return c.text("Sessions are unavailable for a moment; try again shortly.", 503);
  }
  if (error instanceof SessionError) {
    return c.text(error.message, error.status as 400 | 404 | 409 | 413);
  }
  console.error(error);
  return c.text("Internal error", 500);
});
