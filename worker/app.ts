import { Hono } from "hono";
import { type Changeset, parseChangeset } from "../src/changeset";
import { SessionError } from "../src/errors";
import { isStored, type SessionSnapshot, sessionView, sessionViewHead } from "../src/session-view";
import { parseAppSettings } from "../src/settings";
import { ROUTES } from "./api-schema";
import { bearerAuth } from "./auth";
import { notFound, onError } from "./errors";
import { etagOf, noneMatchNames, parseIfMatch } from "./etag";
import { openApiDocument } from "./openapi";
import { sessionRouter, unwrapCall } from "./router";
import { refuseOtherMethods, route } from "./routes";

type Env = { Bindings: Cloudflare.Env };

/**
 * The HTTP API: JSON under `/v1`, every route behind a bearer token except the OpenAPI document.
 * The routes, their parameters, bodies and answers are declared once in `worker/api-schema.ts`:
 * they are registered from there, their requests validated by its schemas (app names and keys
 * before any Durable Object is reached; bodies for media type, size, encoding and shape), and
 * `GET /v1/openapi.json` serves the document made from them. Every error is
 * `{ error: { code, message } }` (see the README).
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
route(api, ROUTES.health, (c) => c.json({ ok: true as const }));

/** The OpenAPI 3.1 document, without a token (registered before the token check). */
route(api, ROUTES.openapi, (c) => c.json(openApiDocument()));

api.use("/v1/*", bearerAuth());

/**
 * query: the live session (touched) with its ETag, or 404. With an If-None-Match that names the
 * current ETag, 304 without a body (the read still touched the session). HEAD is `has`: 200 or
 * 404 without a body (Hono answers HEAD with the GET handler). The object answers the session's
 * JSON text (its data as stored), passed through as the body.
 */
route(api, ROUTES.query, async (c, { params: { app, key } }) => {
  const manager = sessionRouter(c.env);
  if (c.req.method === "HEAD") {
    const exists = await unwrapCall(manager.has(app, key));
    return c.body(null, exists ? 200 : 404);
  }
  const view = await unwrapCall(manager.queryView(app, key));
  if (view === null) throw noSession(app, key);
  const etag = etagOf(sessionViewHead(view)) as string;
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch !== undefined && noneMatchNames(ifNoneMatch, etag)) {
    return new Response(null, { status: 304, headers: { ETag: etag } });
  }
  return jsonAnswer(view, etag);
});

/**
 * get: the live session (touched), or a new, empty one. Stores nothing. Its JSON text is passed
 * through as `query`'s is.
 */
route(api, ROUTES.get, async (c, { params: { app, key } }) => {
  const view = await unwrapCall(sessionRouter(c.env).getView(app, key));
  return jsonAnswer(view, etagOf(sessionViewHead(view)));
});

/**
 * commit: applies a changeset `{ version, sid?, set?, delete?, clear?, invalidate?,
 * lastModified? }` to the session at the path; `If-Match` may name the version and sid instead,
 * and then only exactly that version is changed (412 otherwise). 200 with the stored session, or
 * `{ key, stored: false, valid }` when nothing is stored after it (invalidated, or a new session
 * whose data the changes leave empty): the `CommitResult` that RPC answers too. 409 with
 * `current` on a conflict or an ended session.
 */
route(api, ROUTES.commit, async (c, { params: { app, key }, body }) => {
  const given = body as Record<string, unknown>;
  const ifMatch = c.req.header("If-Match");
  const changes = parseChangeset(
    key,
    ifMatch === undefined ? given : { ...given, ...preconditionOf(ifMatch, given) },
  );
  const result = await unwrapCall(sessionRouter(c.env).commit(app, changes));
  return isStored(result) ? sessionAnswer(result) : c.json(result);
});

/**
 * invalidate: ends the live session (reason `invalidated`). 204, or 404 when there is none. With
 * `If-Match`, only when the session is exactly the named version: else 412 with `current`.
 */
route(api, ROUTES.invalidate, async (c, { params: { app, key } }) => {
  const ifMatch = c.req.header("If-Match");
  const manager = sessionRouter(c.env);
  if (ifMatch !== undefined) {
    const changes: Changeset = { key, ...preconditionOf(ifMatch, {}), invalidate: true };
    await unwrapCall(manager.commit(app, parseChangeset(key, changes)));
    return c.body(null, 204);
  }
  const ended = await unwrapCall(manager.invalidate(app, key));
  if (!ended) throw noSession(app, key);
  return c.body(null, 204);
});

/**
 * regenerate: moves the live session to `{ newKey }` (ID rotation); the old one ends with reason
 * `regenerated`. 200 with the session at its new key; 409 `session_ended` when there is no live
 * session; 409 `key_taken` when `newKey` holds a live session; 409 `wrong_shard` (with the app's
 * `shards` in force) when `newKey` lives on another shard of the app.
 */
route(api, ROUTES.regenerate, async (c, { params: { app, key }, body }) => {
  const { newKey } = body as { newKey: string };
  return sessionAnswer(await unwrapCall(sessionRouter(c.env).regenerate(app, key, newKey)));
});

/** The app's settings and stats, added up over its shards; 404 `app_not_found` for an app never used. */
route(api, ROUTES.stats, async (c, { params: { app } }) => {
  return c.json(await unwrapCall(sessionRouter(c.env).stats(app)));
});

/**
 * open: stores the settings `{ timeout?, period?, maxSessionBytes?, beginEvents?, shards? }` (defaults for
 * the rest) with an app on first use; later, 409 `settings_mismatch` naming the setting when a
 * given one differs from the stored one. The body may be left out. 200 with `{ app, settings }`.
 */
route(api, ROUTES.open, async (c, { params: { app }, body }) => {
  const settings = parseAppSettings(body);
  return c.json({ app, settings: await unwrapCall(sessionRouter(c.env).open(app, settings)) });
});

/**
 * configure: creates the app or changes its settings on purpose, keeping the ones not given. A new
 * `shards` moves the sessions in the background; they stay reachable meanwhile.
 */
route(api, ROUTES.configure, async (c, { params: { app }, body }) => {
  const settings = parseAppSettings(body);
  return c.json({ app, settings: await unwrapCall(sessionRouter(c.env).configure(app, settings)) });
});

refuseOtherMethods(api, Object.values(ROUTES));

/** A session answer: the session, and its ETag once it is stored. */
function sessionAnswer(snapshot: SessionSnapshot): Response {
  return jsonAnswer(JSON.stringify(sessionView(snapshot)), etagOf(snapshot));
}

/**
 * A 200 answer with JSON text already made (a session's, with its ETag if any). Built directly:
 * Hono's `c.json` with a second header goes through an extra `Headers` object, a cost on every
 * read.
 */
function jsonAnswer(json: string, etag: string | undefined): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (etag !== undefined) headers.ETag = etag;
  return new Response(json, { headers });
}

/**
 * The changeset fields an `If-Match` stands for: the sid and version it names, and `exact`. A
 * body may still carry `version` and `sid`, but only the same ones.
 */
function preconditionOf(
  ifMatch: string,
  body: Record<string, unknown>,
): Pick<Changeset, "sid" | "version" | "exact"> {
  const { sid, version } = parseIfMatch(ifMatch);
  if (
    (body.version !== undefined && body.version !== version) ||
    (body.sid !== undefined && body.sid !== sid)
  ) {
    throw new SessionError(
      "invalid_precondition",
      400,
      `The body's version and sid (${JSON.stringify(body.version)}, ${JSON.stringify(body.sid)}) differ from the ones If-Match names (${version}, ${JSON.stringify(sid)}). Send them in one place, or the same in both.`,
    );
  }
  return { sid, version, exact: true };
}

function noSession(app: string, key: string): SessionError {
  return new SessionError(
    "not_found",
    404,
    `No live session "${key}" in app "${app}": it was never stored, has expired or was invalidated. POST to the same path to get a new one.`,
  );
}
