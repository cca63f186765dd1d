import type { Driver, StorageMeta, TransactionOptions } from "unstorage";
import type { RemoteSessionManager, SessionManagerFactory } from "../client/factory.js";
import { SessionData } from "../core/data.js";
import { ConflictError, SessionError } from "../core/errors.js";
import { type SessionSnapshot, snapshotOfView, unstoredSnapshot } from "../core/session-view.js";
import { EXPIRES_KEY, hasExpired, sessionKeyOf, valueAt, writeItem } from "./item.js";

/** Options of `edgeSessionsDriver`. */
export interface EdgeSessionsDriverOptions {
  /**
   * The factory of the app whose sessions hold the items (any transport), or a function that
   * makes it, called once, at the first use: in a Worker, where `env` is only at hand then.
   */
  factory: SessionManagerFactory | (() => SessionManagerFactory);
  /** Prefix of every session key: item `k` is the session `<base>:k`. Default none. */
  base?: string;
  /** Seconds an item lives when `setItem` gives no `ttl`. Default: until removed. */
  ttl?: number;
  /** Seconds since the epoch, for `ttl`. Default `Date.now() / 1000`. */
  clock?: () => number;
  /**
   * The object that stands for the request being served (from an `AsyncLocalStorage` the app
   * runs each request in), or `undefined` outside one. Given it, a `setItem` of an item read in
   * the same request is conditional: refused with `ConflictError` (409) when another write
   * changed the item since that read, instead of replacing it, so that two requests that read
   * and write one session at once never lose a change silently (docs/unstorage.md#concurrent-requests).
   */
  scope?: () => object | undefined;
}

/** How many times `setItem` sends its value when other writes come in between. */
const WRITE_ATTEMPTS = 10;

/** How many sessions' last known versions a driver keeps, to write with one call. */
const KNOWN_VERSIONS = 1024;

/**
 * An unstorage driver backed by edge sessions: each item is one session of the app (the key,
 * under `base`, is the session key), so Astro sessions, Nitro/Nuxt storage and h3 keep their data
 * in the session service by naming this driver.
 *
 * As unstorage's contract says: `getItem` of a missing (or expired) key is `null`, `hasItem`
 * false; `setItem` replaces the value, with `ttl` in seconds (the last write wins, as with every
 * unstorage driver, since the interface tells a driver nothing of the read a write follows;
 * with the `scope` option, a write after a read in the same request is checked against it and
 * refused with `ConflictError` when another write came in between); `removeItem`
 * ends the session (reason `invalidated`). `getKeys` and `clear` are refused with a
 * `SessionError` `not_supported` (501): the service never lists sessions (their keys are
 * credentials). The app's `timeout` ends an item that is not read for that long, whatever its
 * `ttl`: give the app a `timeout` at least as long as the longest `ttl`.
 *
 * @example
 * import { createStorage } from "unstorage";
 * import { ServiceSessionManagerFactory } from "edge-sessions";
 * import { edgeSessionsDriver } from "edge-sessions/unstorage";
 *
 * const storage = createStorage({
 *   driver: edgeSessionsDriver({ factory: () => new ServiceSessionManagerFactory(env.SESSIONS, "shop") }),
 * });
 * await storage.setItem("cart:abc", { items: 2 }, { ttl: 3600 });
 */
export function edgeSessionsDriver(
  options: EdgeSessionsDriverOptions,
): Driver<EdgeSessionsDriverOptions, SessionManagerFactory> {
  const { factory, base, ttl: defaultTtl, clock = () => Date.now() / 1000, scope } = options;
  if (defaultTtl !== undefined) assertTtl(defaultTtl);
  let made: SessionManagerFactory | undefined;
  const instance = (): SessionManagerFactory => {
    made ??= typeof factory === "function" ? factory() : factory;
    return made;
  };
  const prefix = base === undefined || base === "" ? "" : `${base.replace(/:+$/, "")}:`;
  const sessionKey = (key: string): string => sessionKeyOf(`${prefix}${key}`);
  // The version of each session last read or written here: a write starts from it, so that it
  // usually takes one call. Only a hint: a write that meets a newer version sends again.
  const known = new Map<string, SessionSnapshot>();
  const remember = (full: string, session: SessionData | undefined): void => {
    known.delete(full);
    if (session === undefined) return;
    if (known.size >= KNOWN_VERSIONS) known.delete(known.keys().next().value as string);
    const { key, sid, version, created, lastModified } = session;
    known.set(full, { key, sid, version, created, lastModified, data: session.toJSON() });
  };
  // What each request (`scope`) read: the version its writes are checked against.
  const readIn = new WeakMap<object, Map<string, SessionSnapshot>>();
  const read = async (key: string): Promise<[RemoteSessionManager, SessionData | undefined]> => {
    const full = sessionKey(key);
    const request = scope?.();
    const manager = await instance().open();
    const session = await manager.query(full);
    remember(full, session);
    if (request !== undefined) {
      const reads = readIn.get(request) ?? new Map<string, SessionSnapshot>();
      readIn.set(request, reads);
      reads.set(full, known.get(full) ?? unstoredSnapshot(full, clock()));
    }
    return [manager, session];
  };
  /** The item at `full` is gone (removed, or ended past its ttl): known, and read, as absent. */
  const gone = (full: string, request: object | undefined): void => {
    remember(full, undefined);
    if (request !== undefined) readIn.get(request)?.set(full, unstoredSnapshot(full, clock()));
  };

  return {
    name: "edge-sessions",
    flags: { ttl: true },
    options,
    getInstance: instance,

    async hasItem(key) {
      const [, session] = await read(key);
      return valueAt(session, clock()) !== null;
    },

    async getItem(key) {
      const request = scope?.();
      const [manager, session] = await read(key);
      const value = valueAt(session, clock());
      if (value === null && session !== undefined && hasExpired(session, clock())) {
        // Past its ttl: end it now, as a store that expires keys would have dropped it.
        session.invalidate();
        await manager.save(session).catch(ignoreConflict);
        gone(sessionKey(key), request);
      }
      return value;
    },

    async setItem(key, value, opts: TransactionOptions = {}) {
      const full = sessionKey(key);
      const ttl = opts.ttl === undefined ? defaultTtl : assertTtl(opts.ttl);
      if (typeof value !== "string") {
        throw new TypeError(
          `edgeSessionsDriver: setItem("${key}") got a ${typeof value}: call it through unstorage's storage.setItem, which serializes the value first.`,
        );
      }
      const request = scope?.();
      const manager = await instance().open();
      const reads = request === undefined ? undefined : readIn.get(request);
      const readHere = reads?.get(full);
      if (readHere !== undefined) {
        // Read in this request: written only over that very version (a ConflictError if not).
        const session = new SessionData(readHere, clock);
        writeItem(session, value, ttl, clock());
        remember(full, await manager.save(session));
        reads?.set(full, known.get(full) ?? unstoredSnapshot(full, clock()));
        return;
      }
      let base = known.get(full) ?? unstoredSnapshot(full, clock());
      for (let attempt = 1; ; attempt++) {
        const session = new SessionData(base, clock);
        writeItem(session, value, ttl, clock());
        try {
          remember(full, await manager.save(session));
          return;
        } catch (error) {
          // Another write came in since the version this one started from: this one is the
          // later, so it is sent again over the version the refusal carries.
          if (!(error instanceof ConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
          base =
            error.current === null
              ? unstoredSnapshot(full, clock())
              : snapshotOfView(error.current);
        }
      }
    },

    async removeItem(key) {
      const request = scope?.();
      const [manager, session] = await read(key);
      if (session === undefined) return;
      session.invalidate();
      await manager.save(session).catch(ignoreConflict);
      gone(sessionKey(key), request);
    },

    async getMeta(key) {
      const [, session] = await read(key);
      if (session === undefined || valueAt(session, clock()) === null) return null;
      const meta: StorageMeta = { birthtime: new Date(session.created * 1000) };
      if (session.lastModified !== null) meta.mtime = new Date(session.lastModified * 1000);
      const expires = session.get(EXPIRES_KEY);
      if (typeof expires === "number") meta.ttl = Math.max(0, Math.ceil(expires - clock()));
      return meta;
    },

    getKeys() {
      throw notSupported("getKeys");
    },

    clear() {
      throw notSupported("clear");
    },
  };
}

function notSupported(method: string): SessionError {
  return new SessionError(
    "not_supported",
    `edgeSessionsDriver: ${method}() is not offered: the session service never lists sessions, since their keys are credentials. Read, write and remove items by key; to end every session of an app, use another app name.`,
  );
}

function assertTtl(ttl: unknown): number {
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0) {
    throw new TypeError(
      `edgeSessionsDriver: ttl is the seconds an item lives, a number above 0, got ${JSON.stringify(ttl)}.`,
    );
  }
  return ttl;
}

/** Ending a session that ended meanwhile still leaves it ended. */
function ignoreConflict(error: unknown): void {
  if (!(error instanceof ConflictError)) throw error;
}
