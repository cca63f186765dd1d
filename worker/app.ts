import { Hono } from "hono";
import { accepts } from "hono/accepts";
import { type Changeset, parseChangeset } from "../src/core/changeset";
import { ConflictError, SessionError } from "../src/core/errors";
import type { JsonObject } from "../src/core/json";
import { PROMETHEUS_TEXT, prometheusText } from "../src/core/prometheus";
import {
  isStored,
  type SessionSnapshot,
  type SessionView,
  sessionView,
  sessionViewHead,
} from "../src/core/session-view";
import { parseAppSettings } from "../src/core/settings";
import type { EndSelection } from "../src/core/users";
import { recordRequests } from "./analytics/requests";
import { openApiDocument } from "./api/openapi";
import { ROUTES } from "./api/schema";
import { dashboardResponse } from "./dashboard/serve";
import { bearerAuth } from "./http/auth";
import { HttpError, notFound, onError } from "./http/errors";
import {
  type Conditions,
  conditionsOf,
  etagOf,
  evaluate,
  exactTarget,
  type Precondition,
} from "./http/etag";
import { refuseOtherMethods, route } from "./http/routes";
import { sessionRouter, unwrapCall } from "./router";

type Env = { Bindings: Cloudflare.Env };

/**
 * The HTTP API: JSON under `/v1`, every route behind a bearer token except the OpenAPI document
 * (and, outside `/v1`, liveness and the dashboard page).
 * The routes, their parameters, bodies and answers are declared once in `worker/api/schema.ts`:
 * they are registered from there, their requests validated by its schemas (app names and keys
 * before any Durable Object is reached; bodies for media type, size, encoding and shape), and
 * `GET /v1/openapi.json` serves the document made from them. Every error is
 * `{ error: { code, message } }` (see docs/http-api.md, Errors).
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

/** The dashboard page (worker/dashboard/), without a token: it asks for one and holds no data. */
route(api, ROUTES.dashboard, () => dashboardResponse());

// One Analytics Engine data point per request, when a SESSION_METRICS dataset is bound.
api.use("/v1/*", recordRequests());
api.use("/v1/*", bearerAuth());

/**
 * query: the live session (touched) with its ETag, or 404. HEAD is `has`: 200 or 404 without a
 * body (Hono answers HEAD with this handler and drops the body). Preconditions are evaluated on
 * the session as read (the read touches it, as any read does): a failing `If-Match` is 412, an
 * `If-None-Match` that names the current ETag is 304. A missing session is 404 whatever they
 * say (RFC 9110 §13.2.1: they only apply where the request would succeed without them). The
 * object answers the session's JSON text (its data as stored), passed through as the body.
 */
route(api, ROUTES.query, async (c, { params: { app, key } }) => {
  const manager = sessionRouter(c.env);
  const conditions = conditionsOf((name) => c.req.header(name));
  const head = c.req.method === "HEAD";
  if (head && conditions === undefined) {
    const exists = await unwrapCall(manager.has(app, key));
    return c.body(null, exists ? 200 : 404);
  }
  const view = await unwrapCall(manager.queryViewJson(app, key));
  if (view === null) throw noSession(app, key);
  const etag = etagOf(sessionViewHead(view)) as string;
  const verdict = conditions === undefined ? "pass" : evaluate(conditions, etag, true);
  if (verdict === "not_modified")
    return new Response(null, { status: 304, headers: { ETag: etag } });
  if (verdict === "failed") throw preconditionFailed(key, JSON.parse(view), "If-Match");
  return head ? new Response(null, { headers: { ETag: etag } }) : jsonAnswer(view, etag);
});

/**
 * get: the live session (touched), or a new, empty one. Stores nothing. Its JSON text is passed
 * through as `query`'s is.
 */
route(api, ROUTES.get, async (c, { params: { app, key } }) => {
  const view = await unwrapCall(sessionRouter(c.env).getViewJson(app, key));
  return jsonAnswer(view, etagOf(sessionViewHead(view)));
});

/**
 * Preconditions that no single strong ETag names, evaluated on the session as read now (a read:
 * it touches): the state a write they allow must be made to exactly (`null`: only while none is
 * stored), with the session read; a failed one is 412 with `current`. `missing` answers a session
 * that is not there before the preconditions are looked at (a DELETE's 404).
 */
async function readTarget(
  manager: ReturnType<typeof sessionRouter>,
  app: string,
  key: string,
  conditions: NonNullable<ReturnType<typeof requiredConditions>>,
  missing?: () => Error,
): Promise<{ current: SessionView | null; state: Precondition | null }> {
  const current = await unwrapCall(manager.query(app, key));
  if (current === null && missing !== undefined) throw missing();
  const etag = current === null ? undefined : etagOf(current);
  if (evaluate(conditions, etag, false) === "failed") {
    throw preconditionFailed(key, current, failedHeader(conditions, etag));
  }
  return {
    current,
    state: current === null ? null : { sid: current.sid as string, version: current.version },
  };
}

/**
 * commit: applies a changeset `{ version, sid?, set?, delete?, clear?, invalidate?,
 * lastModified?, newKey? }` to the session at the path. 200 with the stored session, or
 * `{ key, stored: false, valid }` when nothing is stored after it (invalidated, or a new session
 * whose data the changes leave empty): the `CommitResult` that RPC answers too. 409 with
 * `current` on a conflict or an ended session.
 *
 * Conditional (docs/DESIGN.md#conditional-requests): one strong ETag as `If-Match` names the
 * version and sid to commit to exactly, in one call. Other preconditions (`*`, lists,
 * `If-None-Match`) are evaluated on the session as read first (a read: it touches); when they
 * hold, the commit is made exactly to that state (the read version, or only while none is
 * stored), so a change in between is a 412 too, never a write they did not allow.
 */
route(api, ROUTES.commit, async (c, { params: { app, key }, body }) => {
  const given = body as Record<string, unknown>;
  const manager = sessionRouter(c.env);
  const conditions = requiredConditions(c);
  let target: Precondition | null | undefined;
  if (conditions !== undefined) {
    target = exactTarget(conditions);
    if (target === undefined) {
      const { current, state } = await readTarget(manager, app, key, conditions);
      target = state;
      if (!sameState(given, target)) {
        throw preconditionFailed(key, current, "the body's version and sid");
      }
    }
  }
  const changes = parseChangeset(
    key,
    target === undefined ? given : { ...given, ...exactFields(target, given) },
  );
  const result = await unwrapCall(manager.commit(app, changes));
  return isStored(result) ? sessionAnswer(result) : c.json(result);
});

/**
 * invalidate: ends the live session (reason `invalidated`). 204, or 404 when there is none
 * (whatever the preconditions say, as for a read). Preconditions as for `commit`: a failing
 * one is 412 with `current`, and the session lives on.
 */
route(api, ROUTES.invalidate, async (c, { params: { app, key } }) => {
  const manager = sessionRouter(c.env);
  const conditions = requiredConditions(c);
  if (conditions === undefined) {
    const ended = await unwrapCall(manager.invalidate(app, key));
    if (!ended) throw noSession(app, key);
    return c.body(null, 204);
  }
  const target =
    exactTarget(conditions) ??
    // `missing` answers a session not there, so a state was read.
    ((await readTarget(manager, app, key, conditions, () => noSession(app, key)))
      .state as Precondition);
  const changes: Changeset = { key, ...target, exact: true, invalidate: true };
  try {
    await unwrapCall(manager.commit(app, parseChangeset(key, changes)));
  } catch (error) {
    // No live session: 404, as without preconditions (RFC 9110 §13.2.1).
    if (error instanceof ConflictError && error.current === null) throw noSession(app, key);
    throw error;
  }
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

/**
 * sign-in: commits `changes` and moves the session to a new key carrying the user's tag, bound to
 * `user` with `labels` (docs/DESIGN.md#users); the old key ends (`regenerated`). 200 with the
 * session at its new key, with `user`. The changes are checked against the path's key first.
 */
route(api, ROUTES.signIn, async (c, { params: { app, key }, body }) => {
  const { user, labels, changes } = body as {
    user: string;
    labels?: JsonObject;
    changes: Record<string, unknown>;
  };
  const parsed = parseChangeset(key, changes);
  return sessionAnswer(await unwrapCall(sessionRouter(c.env).signIn(app, parsed, user, labels)));
});

/**
 * A user's live sessions, most recently active first, each with its handle; `?own=` marks the
 * caller's. 404 `user_not_found` when there are none. Reads the user's object alone.
 */
route(api, ROUTES.userSessions, async (c, { params: { app, user }, query: { own } }) => {
  return c.json(await unwrapCall(sessionRouter(c.env).userSessions(app, user, own)));
});

/**
 * Ends all of a user's sessions (reason `revoked`), or all but `?except=`'s, in one transaction:
 * `{ ended }`. Once it answers, no request finds any of them.
 */
route(api, ROUTES.endUserSessions, async (c, { params: { app, user }, query: { except } }) => {
  const which: EndSelection = except === undefined ? { all: true } : { except };
  return c.json({
    ended: await unwrapCall(sessionRouter(c.env).endUserSessions(app, user, which)),
  });
});

/** Ends the user's session with `handle` (reason `revoked`): `{ ended: 1 }`, or 404. */
route(api, ROUTES.endUserSession, async (c, { params: { app, user, handle } }) => {
  const ended = await unwrapCall(sessionRouter(c.env).endUserSessions(app, user, { handle }));
  return c.json({ ended });
});

/** The app's settings and stats, added up over its shards; 404 `app_not_found` for an app never used. */
route(api, ROUTES.stats, async (c, { params: { app } }) => {
  return c.json(await unwrapCall(sessionRouter(c.env).stats(app)));
});

/**
 * The app's figures over its shards (docs/DESIGN.md#metrics): JSON, or the Prometheus text format
 * when Accept prefers it (a Prometheus scrape asks for application/openmetrics-text or text/plain).
 */
route(api, ROUTES.metrics, async (c, { params: { app } }) => {
  const metrics = await unwrapCall(sessionRouter(c.env).metrics(app));
  const type = accepts(c, {
    header: "Accept",
    supports: ["application/json", "text/plain", "application/openmetrics-text"],
    default: "application/json",
  });
  if (type === "application/json") return c.json(metrics, 200, { Vary: "Accept" });
  return c.body(prometheusText(metrics), 200, { "Content-Type": PROMETHEUS_TEXT, Vary: "Accept" });
});

/**
 * open: stores the settings `{ timeout?, period?, maxSessionBytes?, maxSessionsPerUser?,
 * beginEvents?, shards? }` (defaults for the rest) with an app on first use; later, 409
 * `settings_mismatch` naming the setting when a given one differs from the stored one. The body
 * may be left out. 200 with `{ app, settings }`.
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

/**
 * Deletes the app (docs/DESIGN.md#deleting-an-app): 202 with the sessions and events left while
 * the work goes on (call again to follow it), 200 once every object of the app holds nothing.
 */
route(api, ROUTES.deleteApp, async (c, { params: { app } }) => {
  const deletion = await unwrapCall(sessionRouter(c.env).deleteApp(app));
  return c.json(deletion, deletion.deleted ? 200 : 202);
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
 * The preconditions of a write. With `Require-Precondition: true`, a write without `If-Match`
 * or `If-None-Match` is refused with 428 `precondition_required` before anything is read or
 * written: a client whose ETag variable is empty (the runtime drops an empty header) must not
 * write unconditionally.
 */
function requiredConditions(c: {
  req: { header(name: string): string | undefined };
}): Conditions | undefined {
  const require = c.req.header("Require-Precondition");
  if (require !== undefined && require.trim().toLowerCase() !== "true") {
    throw new HttpError(
      "invalid_precondition",
      `Require-Precondition must be "true" (or left out), got ${JSON.stringify(require.slice(0, 80))}.`,
    );
  }
  const conditions = conditionsOf((name) => c.req.header(name));
  if (conditions === undefined && require !== undefined) {
    throw new HttpError(
      "precondition_required",
      "This write requires a precondition (Require-Precondition: true): send the session's ETag as If-Match (or If-None-Match: * to create it only if none exists). Nothing was written.",
    );
  }
  return conditions;
}

/**
 * The changeset fields of an exact commit to `target` (a stored session's sid and version, or
 * `null`: only while none is stored). A body may still carry `version` and `sid`, but only the
 * same ones as an `If-Match` names.
 */
function exactFields(
  target: Precondition | null,
  body: Record<string, unknown>,
): Pick<Changeset, "sid" | "version" | "exact"> {
  if (target === null) return { sid: null, version: 0, exact: true };
  const { sid, version } = target;
  if (!sameState(body, target)) {
    throw new SessionError(
      "invalid_precondition",
      `The body's version and sid (${JSON.stringify(body.version)}, ${JSON.stringify(body.sid)}) differ from the ones If-Match names (${version}, ${JSON.stringify(sid)}). Send them in one place, or the same in both.`,
    );
  }
  return { sid, version, exact: true };
}

/** Whether the body's `version` and `sid`, where given, are those of `target`. */
function sameState(body: Record<string, unknown>, target: Precondition | null): boolean {
  const version = target?.version ?? 0;
  const sid = target?.sid ?? null;
  return (
    (body.version === undefined || body.version === version) &&
    (body.sid === undefined || body.sid === sid)
  );
}

/** Which header failed, for the message: If-Match first (RFC 9110 §13.2.2). */
function failedHeader(conditions: Conditions, etag: string | undefined): string {
  return conditions.ifMatch !== undefined &&
    evaluate({ ifMatch: conditions.ifMatch }, etag, false) === "failed"
    ? "If-Match"
    : "If-None-Match";
}

/** 412 `precondition_failed` with the session as it is (`null` when none), naming what failed. */
function preconditionFailed(key: string, current: SessionView | null, what: string): ConflictError {
  const error = new ConflictError(key, "precondition", current);
  error.message =
    what === "If-Match"
      ? `Session "${key}" is not in the state If-Match names: it was changed, ended or replaced since it was read (or does not exist). Nothing was written; read it again (its ETag is in the answer) and redo the change.`
      : what === "If-None-Match"
        ? `Session "${key}" is in a state If-None-Match names (with *: it exists). Nothing was written.`
        : `The body's version and sid are not those of session "${key}" as it is now, and a conditional write applies to exactly that state (no merge). Nothing was written; redo the change on current, or leave version and sid out.`;
  return error;
}

function noSession(app: string, key: string): SessionError {
  return new SessionError(
    "not_found",
    `No live session "${key}" in app "${app}": it was never stored, has expired or was invalidated. POST to the same path to get a new one.`,
  );
}
