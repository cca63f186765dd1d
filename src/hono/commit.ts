import type { Context, Next } from "hono";
import type { SessionManagerFactory } from "../client/factory.js";
import { ConflictError } from "../core/errors.js";
import type { SessionCookie } from "./cookie.js";
import type { CookieSigner } from "./cookie-signature.js";
import type { SessionsOptions } from "./options.js";
import { rerunner } from "./rerun.js";
import { discard, replaceResponse } from "./responses.js";
import { type AnySessionData, Session, type SessionEnv, type SessionShape } from "./session.js";
import { SessionState } from "./session-state.js";

/** What the middleware settles once, for every request it serves. */
export interface CommitSettings {
  cookie: SessionCookie;
  maxAge: number | undefined;
  clock: () => number;
  retry: number;
  onConflict: NonNullable<SessionsOptions["onConflict"]>;
}

/**
 * Serves one request: runs the rest of the chain with the session on the context, commits the
 * session after a successful handler, answers a conflict (or runs the handler again, up to
 * `retry` times), fails closed when the commit fails otherwise, and sends the cookie.
 */
export async function runAndCommit<Data extends SessionShape<Data> = AnySessionData>(
  c: Context<SessionEnv<Data>>,
  next: Next,
  factory: SessionManagerFactory,
  signer: CookieSigner,
  { cookie, maxAge, clock, retry, onConflict }: CommitSettings,
): Promise<void> {
  const cookieId = await cookie.read(c, signer);
  // What middleware before this one has put on the response and the context: kept when the
  // handler's response is replaced (a conflict's answer, a re-run's response).
  const upstreamHeaders = new Headers(c.res.headers);
  const upstreamVars = Object.entries(c.var);
  const rerun = retry > 0 ? rerunner(c, upstreamVars) : undefined;

  let ctx: Context = c;
  for (let run = 0; ; run++) {
    const state = new SessionState({ factory, cookieId, maxAge, clock });
    // The context of a re-run is untyped: its `session` is this middleware's `Session<Data>`.
    const withSession = (on: Context) =>
      on.set("session", new Session<Data>(state) as unknown as Session);
    if (run === 0) {
      withSession(c);
      await next();
    } else {
      ctx = await (rerun as NonNullable<typeof rerun>)(withSession);
    }

    let conflict: ConflictError | undefined;
    let failure: unknown;
    if (ctx.error === undefined) {
      try {
        await state.commit();
      } catch (error) {
        if (error instanceof ConflictError) conflict = error;
        else failure = error;
      }
    } else if (ctx.error === state.conflict) {
      // The handler let a conflict from save() propagate.
      conflict = state.conflict;
    } else if (ctx !== c) {
      // A re-run threw: nothing of it is stored; the app's error handler answers.
      failure = ctx.error;
    }

    if (conflict !== undefined && run < retry && rerun !== undefined && !state.saved) {
      discard(ctx);
      continue;
    }
    if (conflict !== undefined) {
      const answer = await onConflict(c, state.redact(conflict) as ConflictError);
      replaceResponse(c, answer, upstreamHeaders);
    } else if (failure !== undefined) {
      // Fail closed: the handler's response claimed what was not stored. The app's error
      // handler answers (a SessionError knows its status), with the cookie set below.
      replaceResponse(c, new Response(null), upstreamHeaders);
      await cookie.send(c, state, signer, false);
      throw state.redact(failure);
    } else if (ctx !== c) {
      replaceResponse(c, ctx.finalized ? ctx.res : await ctx.notFound(), upstreamHeaders);
    }
    await cookie.send(c, state, signer, conflict === undefined && ctx.error === undefined);
    return;
  }
}

/** The default answer to a conflict: 409, JSON, no session data, no session ID. */
export function defaultConflictResponse(): Response {
  return Response.json(
    {
      error: {
        code: "session_conflict",
        message:
          "Another request changed this session at the same time, so nothing of this request was stored. Send it again.",
      },
    },
    { status: 409 },
  );
}
