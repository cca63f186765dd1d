// The users snippet of docs/hono.md ("Users and devices"), as a consumer Worker would hold it.
// test/core/readme.test.ts checks that the code between the markers is the guide's, word for word
// (but for the import paths); test/workers/readme-devices.test.ts runs it.

/** The bindings `wrangler types` would declare for the consumer Worker. */
export type Env = { SESSIONS: Fetcher; SESSION_SECRET: string };

// README: begin
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { html } from "hono/html";
import { type SessionEnv, sessions } from "../../src/hono/index";
import { ServiceSessionManagerFactory } from "../../src/index";

const app = new Hono<{ Bindings: Env } & SessionEnv>();
app.use(csrf());
app.use(
  sessions({
    factory: (c) => new ServiceSessionManagerFactory(c.env.SESSIONS, "shop"),
    secret: (c) => c.env.SESSION_SECRET,
  }),
);
app.post("/login", async (c) => {
  const { user } = await c.req.parseBody(); // check the password here first
  const device = c.req.header("user-agent")?.slice(0, 120) ?? "a browser";
  // New ID, data kept, bound to the user; "" answers 400 invalid_user.
  await c.get("session").login(typeof user === "string" ? user : "", { device });
  return c.redirect("/devices", 303);
});
app.get("/devices", async (c) => {
  const session = c.get("session");
  const user = await session.user(); // null when not signed in
  if (user === null) return c.redirect("/", 303);
  const rows = (await session.devices()).map((d) => {
    const seen = new Date(d.lastActive * 1000).toUTCString();
    const signOut = html`<form method="post" action="/devices/${d.handle}/sign-out">
      <button>Sign out</button></form>`;
    return html`<li>${String(d.labels.device)}, ${seen} ${d.current ? "(this device)" : signOut}</li>`;
  });
  return c.html(html`<p>${user}, you are signed in on:</p><ul>${rows}</ul>
    <form method="post" action="/devices/sign-out-others"><button>Sign out other devices</button></form>`);
});
app.post("/devices/sign-out-others", async (c) => {
  await c.get("session").signOutOthers(); // the others' next request finds no session
  return c.redirect("/devices", 303);
});
app.post("/devices/:handle/sign-out", async (c) => {
  await c.get("session").signOutDevice(c.req.param("handle")); // unknown handle: 404
  return c.redirect("/devices", 303);
});
app.post("/logout", async (c) => {
  await c.get("session").destroy(); // this device
  return c.redirect("/", 303);
});

export default app;
// README: end
