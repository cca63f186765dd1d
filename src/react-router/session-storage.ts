import {
  type Cookie,
  type CookieOptions,
  createSessionStorage,
  type FlashSessionData,
  type SessionData as ReactRouterSessionData,
  type Session,
  type SessionStorage,
} from "react-router";
import type { RemoteSessionManager, SessionManagerFactory } from "../client/factory.js";
import { ConflictError } from "../core/errors.js";
import { SESSION_KEY_PATTERN } from "../core/names.js";
import { newSessionId } from "../hono/cookie-signature.js";
import { appData, ReadSnapshot, recordChanges } from "./changes.js";
import { EXPIRES_KEY, expiryToWrite, hasExpired } from "./expiry.js";

/** Options of `createEdgeSessionStorage`. */
export interface EdgeSessionStorageOptions {
  /**
   * The factory of the app whose sessions this storage keeps (any transport), or a function
   * that makes it, called once, at the first use: in a Worker, where `env` is only at hand then.
   */
  factory: SessionManagerFactory | (() => SessionManagerFactory);
  /**
   * React Router's cookie that carries the session ID, or the options to create one (name
   * `__session` by default), exactly as `createSessionStorage` takes it. Sign it: `secrets`.
   */
  cookie?: Cookie | (CookieOptions & { name?: string });
  /** Seconds since the epoch, for `expires`. Default `Date.now() / 1000`. */
  clock?: () => number;
}

/**
 * Only between React Router's `readData` and the end of `getSession`: the read snapshot rides in
 * the session's data under this key, then moves to a `WeakMap` keyed by the session object.
 */
const READ_KEY = "__edge_sessions_read__";

/**
 * A React Router `SessionStorage` backed by edge sessions, made with React Router's own
 * `createSessionStorage`: its cookie (signed with `secrets`) carries a random 256-bit session ID,
 * and the data lives in the session service.
 *
 * - `getSession` reads the session (one call; none without a cookie); `commitSession` sends only
 *   what the app changed since, so concurrent commits that change different keys merge. A
 *   change to a key that another commit changed since the read is refused: `commitSession`
 *   rejects with `ConflictError` (409, `keys` names them) and stores nothing; read the session
 *   again and redo the change.
 * - `expires` (the cookie's `maxAge` or `expires`, or `commitSession`'s) is honoured: past it,
 *   `getSession` finds no data and the stored session is ended. The app's `timeout` (inactivity)
 *   still ends a session sooner: give the app a `timeout` at least as long as the cookie lives.
 * - `destroySession` ends the stored session (`invalidated`, with its end event).
 *
 * @example
 * import { createCookie } from "react-router";
 * import { env } from "cloudflare:workers";
 * import { ServiceSessionManagerFactory } from "edge-sessions";
 * import { createEdgeSessionStorage } from "edge-sessions/react-router";
 *
 * export const { getSession, commitSession, destroySession } = createEdgeSessionStorage({
 *   factory: () => new ServiceSessionManagerFactory(env.SESSIONS, "shop"),
 *   cookie: createCookie("__session", { secrets: [env.SESSION_SECRET], httpOnly: true, sameSite: "lax", secure: true }),
 * });
 */
export function createEdgeSessionStorage<Data = ReactRouterSessionData, FlashData = Data>({
  factory,
  cookie,
  clock = () => Date.now() / 1000,
}: EdgeSessionStorageOptions): SessionStorage<Data, FlashData> {
  let made: SessionManagerFactory | undefined;
  const open = (): Promise<RemoteSessionManager> => {
    made ??= typeof factory === "function" ? factory() : factory;
    return made.open();
  };
  type Stored = FlashSessionData<Data, FlashData>;
  // A session ID that React Router holds but this storage did not read (its session had ended
  // or expired): a new session at that ID, whose commit conflicts with one stored meanwhile.
  const unread = async (id: string): Promise<ReadSnapshot> => {
    const manager = await open();
    return new ReadSnapshot(manager.create(id), manager);
  };

  const storage = createSessionStorage<Data, FlashData>({
    ...(cookie === undefined ? {} : { cookie }),
    async createData(data, expires) {
      const manager = await open();
      const id = newSessionId();
      const session = manager.create(id);
      recordChanges(session, {}, withoutReadKey(data));
      const expiry = expiryToWrite(session, expires, 0);
      if (typeof expiry === "number") session.set(EXPIRES_KEY, expiry);
      await manager.save(session);
      return id;
    },

    async readData(id) {
      // A cookie that names no possible key (an unsigned cookie someone edited) names no session.
      if (!SESSION_KEY_PATTERN.test(id)) return null;
      const manager = await open();
      const session = await manager.query(id);
      if (session === undefined) return null;
      if (hasExpired(session, clock())) {
        session.invalidate();
        await manager.save(session).catch(ignoreConflict);
        return null;
      }
      return {
        ...appData(session),
        [READ_KEY]: new ReadSnapshot(session, manager),
      } as unknown as Stored;
    },

    async updateData(id, data, expires) {
      const read = (data as Record<string, unknown>)[READ_KEY];
      const snapshot =
        read instanceof ReadSnapshot && read.session.key === id ? read : await unread(id);
      const { session, manager } = snapshot;
      const after = withoutReadKey(data);
      recordChanges(session, snapshot.synced, after);
      const isNew = session.isNew;
      const expiry = expiryToWrite(session, expires, isNew ? 0 : manager.settings.period);
      if (isNew && typeof expiry === "number") session.set(EXPIRES_KEY, expiry);
      await manager.save(session);
      // A copy: the app may still change its values in place before a second commit.
      snapshot.synced = structuredClone(after) as typeof snapshot.synced;
      if (isNew || expiry === undefined) return;
      // The expiry goes in a commit of its own, after the data: when two requests extend it at
      // once, the one refused lost only to an expiry moments apart from its own.
      if (expiry === null) session.delete(EXPIRES_KEY);
      else session.set(EXPIRES_KEY, expiry);
      try {
        await manager.save(session);
      } catch (error) {
        if (!(error instanceof ConflictError && onlyExpiry(error))) throw error;
        manager.connection.abort();
      }
    },

    async deleteData(id) {
      if (!SESSION_KEY_PATTERN.test(id)) return;
      const manager = await open();
      const session = await manager.query(id);
      if (session === undefined) return;
      session.invalidate();
      await manager.save(session).catch(ignoreConflict);
    },
  });

  // The read snapshot of each session handed out, out of its data (the app never sees it).
  const snapshots = new WeakMap<Session<Data, FlashData>, unknown>();
  const marked = (session: Session<Data, FlashData>) =>
    session as unknown as Session<Record<string, unknown>>;

  return {
    async getSession(cookieHeader, options) {
      const session = await storage.getSession(cookieHeader, options);
      if (session.has(READ_KEY as never)) {
        snapshots.set(session, (session.data as Record<string, unknown>)[READ_KEY]);
        marked(session).unset(READ_KEY);
      }
      return session;
    },
    async commitSession(session, options) {
      const snapshot = snapshots.get(session);
      if (snapshot === undefined) return storage.commitSession(session, options);
      marked(session).set(READ_KEY, snapshot);
      try {
        return await storage.commitSession(session, options);
      } finally {
        marked(session).unset(READ_KEY);
      }
    },
    destroySession: (session, options) => storage.destroySession(session, options),
  };
}

function withoutReadKey(data: object): Record<string, unknown> {
  const { [READ_KEY]: _read, ...rest } = data as Record<string, unknown>;
  return rest;
}

/** Whether a conflict was only over the expiry (another request extended it meanwhile). */
function onlyExpiry(error: ConflictError): boolean {
  return error.reason === "conflict" && error.keys.length === 1 && error.keys[0] === EXPIRES_KEY;
}

/** Ending a session that ended meanwhile (or was changed meanwhile) still leaves it ended. */
function ignoreConflict(error: unknown): void {
  if (!(error instanceof ConflictError)) throw error;
}
