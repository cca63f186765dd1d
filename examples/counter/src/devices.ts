// The counter example's "your devices" page: where the logged-in user is signed in (one row per
// session, this one marked), with "sign out" per device and "sign out other devices". Everything
// comes from the middleware's session: `user()`, `devices()`, `signOutDevice(handle)`,
// `signOutOthers()`; this device signs out with `destroy()` (POST /logout).
import { Hono } from "hono";
import { html } from "hono/html";
import type { SessionEnv, UserSession } from "../../../src/hono/index";
import { SessionError } from "../../../src/index";
import type { Bindings, Data } from "./app";

/** The login form's field that names the device (empty: named from the browser's User-Agent). */
export const DEVICE_FIELD = "device";

/** Longest device name kept. */
export const MAX_DEVICE_LENGTH = 64;

/**
 * The name of the device a login comes from: the one typed in the form, or else the browser and
 * system its User-Agent names ("Firefox on Linux"), at most `MAX_DEVICE_LENGTH` characters.
 */
export function deviceLabel(typed: unknown, userAgent: string | undefined): string {
  const name = typeof typed === "string" ? typed.trim() : "";
  return (name === "" ? fromUserAgent(userAgent ?? "") : name).slice(0, MAX_DEVICE_LENGTH);
}

function fromUserAgent(ua: string): string {
  const browser =
    [
      ["Edg/", "Edge"],
      ["Firefox/", "Firefox"],
      ["Chrome/", "Chrome"],
      ["Safari/", "Safari"],
    ].find(([token]) => ua.includes(token as string))?.[1] ?? "A browser";
  const system =
    [
      ["Android", "Android"],
      ["iPhone", "iPhone"],
      ["iPad", "iPad"],
      ["Windows", "Windows"],
      ["Mac OS X", "macOS"],
      ["Linux", "Linux"],
    ].find(([token]) => ua.includes(token as string))?.[1] ?? "an unknown system";
  return `${browser} on ${system}`;
}

/** A time in seconds, as the page shows it (UTC, to the minute). */
function when(seconds: number) {
  const iso = new Date(seconds * 1000).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`;
}

function row(device: UserSession) {
  const name = typeof device.labels.device === "string" ? device.labels.device : "Unknown device";
  return html`<tr class="device"${device.current ? html` data-current` : ""}>
        <td class="device-name">${name}${device.current ? html` <strong class="this-device">(this device)</strong>` : ""}</td>
        <td>${when(device.created)}</td>
        <td>${when(device.lastActive)}</td>
        <td>${
          device.current
            ? html`<form method="post" action="/logout"><button>Sign out</button></form>`
            : html`<form method="post" action="/devices/sign-out">
            <input type="hidden" name="handle" value="${device.handle}" />
            <button>Sign out</button>
          </form>`
        }</td>
      </tr>`;
}

/** The devices page and its two actions, mounted at `/devices` (app.ts). */
export const devices = new Hono<{ Bindings: Bindings } & SessionEnv<Data>>();

devices.get("/", async (c) => {
  const session = c.get("session");
  const user = await session.user();
  if (user === null) return c.redirect("/", 303);
  const list = await session.devices();
  const notice = await session.flash<string>("notice");
  const others = list.filter((device) => !device.current).length;
  return c.html(html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>edge sessions: your devices</title>
    <style>
      body { font-family: sans-serif; margin: 1.5rem; }
      table { border-collapse: collapse; margin: 1rem 0; }
      th, td { border-bottom: 1px solid #ccc; padding: 0.4rem 0.8rem; text-align: left; }
      form { display: inline; }
    </style>
  </head>
  <body>
    <h1>Your devices</h1>
    ${notice === undefined ? "" : html`<p role="status" id="flash">${notice}</p>`}
    <p id="user">Logged in as <strong>${user}</strong>.</p>
    <table id="devices">
      <thead><tr><th>Device</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
      <tbody>
      ${list.map(row)}
      </tbody>
    </table>
    ${
      others === 0
        ? html`<p id="no-others">You are signed in on this device only.</p>`
        : html`<form method="post" action="/devices/sign-out-others">
      <button id="sign-out-others">Sign out other devices</button>
    </form>`
    }
    <p><a href="/">Back to the counter</a></p>
  </body>
</html>
`);
});

// Both act at once: once they answer, the devices signed out find no session on their next
// request, whatever they send.

devices.post("/sign-out-others", async (c) => {
  const session = c.get("session");
  const ended = await session.signOutOthers();
  await session.flash("notice", `Signed out ${ended} other device${ended === 1 ? "" : "s"}.`);
  return c.redirect("/devices", 303);
});

devices.post("/sign-out", async (c) => {
  const session = c.get("session");
  const { handle } = await c.req.parseBody();
  try {
    await session.signOutDevice(typeof handle === "string" ? handle : "");
    await session.flash("notice", "Signed out that device.");
  } catch (error) {
    // Signed out meanwhile (from another device): nothing to do but say so.
    if (!(error instanceof SessionError) || error.code !== "handle_not_found") throw error;
    await session.flash("notice", "That device was signed out already.");
  }
  return c.redirect("/devices", 303);
});
