import { type Context, Hono } from "hono";
import {
  assertAppName,
  assertSessionKey,
  InvalidInputError,
  parseAppSettings,
  parseChangeset,
  SessionError,
} from "../src/index";
import { bearerAuth } from "./auth";
import { readJsonBody } from "./body";
import { methodNotAllowed, notFound, onError } from "./errors";
import { sessionRouter, unwrapCall } from "./manager";
import { sessionView } from "./session-view";

type Env = { Bindings: Cloudflare.Env };

/**
 * The HTTP API: JSON under `/v1`, every route behind a bearer token. App names and keys are
 * checked here, before any Durable Object is reached; bodies are checked for media type, size,
 * encoding and shape; every error is `{ error: { code, message } }` (see the README).
 *
 * @example
 * await api.request("/v1/apps/shop/sessions/abc", {
 *   method: "POST",
 *   headers: { Authorization: "Bearer dev-token" },
 * }, env);
 */
export const api = new Hono<Env>();

api.onError(onError);
api.notFound(notFound);

/** Liveness: answers without a token and without touching storage. */
api.get("/healthz", (c) => c.json({ ok: true }));

api.use("/v1/*", bearerAuth());

const SESSION = "/v1/apps/:app/sessions/:key";
const APP = "/v1/apps/:app";

/**
 * get: the live session (touched), or a new, empty one. Stores nothing. The object answers the
 * session's JSON text (its data as stored), passed through as the body.
 */
api.post(SESSION, async (c) => {
  const { app, key } = sessionParams(c);
  const view = await unwrapCall(sessionRouter(c.env).getView(app, key));
  return jsonText(c, view);
});

/** query: the live session (touched), or 404. HEAD is `has`: 200 or 404 without a body. */
api.get(SESSION, async (c) => {
  const { app, key } = sessionParams(c);
  const manager = sessionRouter(c.env);
  if (c.req.method === "HEAD") {
    const exists = await unwrapCall(manager.has(app, key));
    return c.body(null, exists ? 200 : 404);
  }
  const view = await unwrapCall(manager.queryView(app, key));
  if (view === null) throw noSession(app, key);
  return jsonText(c, view);
});

/**
 * commit: applies a changeset `{ version, sid?, set?, delete?, clear?, invalidate?,
 * lastModified? }` to the session at the path. 200 with the stored session, or
 * `{ key, stored: false, valid }` when nothing is stored after it (invalidated, or a new session
 * without changes); 409 with `current` on a conflict or an ended session.
 */
api.patch(SESSION, async (c) => {
  const { app, key } = sessionParams(c);
  const changes = parseChangeset(key, await readJsonBody(c));
  const snapshot = await unwrapCall(sessionRouter(c.env).commit(app, changes));
  if (snapshot === null) return c.json({ key, stored: false, valid: !changes.invalidate });
  return c.json(sessionView(snapshot));
});

/** invalidate: ends the live session (reason `invalidated`). 204, or 404 when there is none. */
api.delete(SESSION, async (c) => {
  const { app, key } = sessionParams(c);
  const ended = await unwrapCall(sessionRouter(c.env).invalidate(app, key));
  if (!ended) throw noSession(app, key);
  return c.body(null, 204);
});

api.all(SESSION, methodNotAllowed(["GET", "HEAD", "POST", "PATCH", "DELETE"]));

/**
 * regenerate: moves the live session to `{ newKey }` (ID rotation); the old one ends with reason
 * `regenerated`. 200 with the session at its new key; 409 `session_ended` when there is no live
 * session; 409 `key_taken` when `newKey` holds a live session; 409 `wrong_shard` when `newKey`
 * lives on another shard of the app.
 */
api.post(`${SESSION}/regenerate`, async (c) => {
  const { app, key } = sessionParams(c);
  const newKey = parseRegenerate(await readJsonBody(c));
  const snapshot = await unwrapCall(sessionRouter(c.env).regenerate(app, key, newKey));
  return c.json(sessionView(snapshot));
});

api.all(`${SESSION}/regenerate`, methodNotAllowed(["POST"]));

/** The app's settings and stats, added up over its shards; 404 `app_not_found` for an app never used. */
api.get(APP, async (c) => {
  const app = appParam(c);
  return c.json(await unwrapCall(sessionRouter(c.env).stats(app)));
});

/**
 * open: stores the settings `{ timeout?, period?, maxSessionBytes?, beginEvents?, shards? }` (defaults for
 * the rest) with an app on first use; later, 409 `settings_mismatch` naming the setting when a
 * given one differs from the stored one. The body may be left out. 200 with `{ app, settings }`.
 */
api.post(APP, async (c) => {
  const app = appParam(c);
  const settings = parseAppSettings(await readJsonBody(c, { optional: true }));
  return c.json({
    app,
    settings: await unwrapCall(sessionRouter(c.env).open(app, settings)),
  });
});

/** configure: creates the app or changes its settings on purpose, keeping the ones not given. */
api.put(APP, async (c) => {
  const app = appParam(c);
  const settings = parseAppSettings(await readJsonBody(c));
  return c.json({
    app,
    settings: await unwrapCall(sessionRouter(c.env).configure(app, settings)),
  });
});

api.all(APP, methodNotAllowed(["GET", "HEAD", "POST", "PUT"]));

/** A 200 answer whose body is JSON text already made (a compact read), as `c.json` sends it. */
function jsonText(c: Context<Env>, text: string): Response {
  return c.body(text, 200, { "Content-Type": "application/json" });
}

function appParam(c: Context<Env>): string {
  const app = c.req.param("app");
  assertAppName(app);
  return app;
}

function sessionParams(c: Context<Env>): { app: string; key: string } {
  const app = appParam(c);
  const key = c.req.param("key");
  assertSessionKey(key);
  return { app, key };
}

/** The `newKey` of a regenerate body `{ newKey }`. */
function parseRegenerate(body: unknown): string {
  const fields = body !== null && typeof body === "object" ? Object.keys(body) : [];
  if (Array.isArray(body) || fields.length !== 1 || fields[0] !== "newKey") {
    throw new InvalidInputError(
      'A regenerate body must be { "newKey": "<the new session key>" }.',
      "invalid_input",
    );
  }
  const { newKey } = body as { newKey: unknown };
  assertSessionKey(newKey);
  return newKey;
}

function noSession(app: string, key: string): SessionError {
  return new SessionError(
    "not_found",
    404,
    `No live session "${key}" in app "${app}": it was never stored, has expired or was invalidated. POST to the same path to get a new one.`,
  );
}
