import type { StoredSession } from "../../src/core/session-view.js";
import type { SessionStore } from "../../src/core/store.js";
import { migrate } from "./schema.js";
import { SessionCache } from "./session-cache.js";

/** A write held back by `batch` until its end: the last one per session wins. */
type Pending =
  | { kind: "save"; session: StoredSession; data: string; keyVersions: string }
  | { kind: "touch"; sliceEnd: number }
  | { kind: "remove" };

/** What one open transaction changed, to undo it in memory if it fails. */
interface Frame {
  /** Sessions whose cache entry this transaction changed. */
  written: Set<string>;
  /** The pending write each session had before this transaction changed it. */
  undo: Map<string, Pending | undefined>;
  /** What to undo outside storage if this transaction rolls back (`onRollback`). */
  rollbacks: (() => void)[];
}

/** A row of the `sessions` table. */
export interface SessionRow extends Record<string, SqlStorageValue> {
  key: string;
  sid: string;
  version: number;
  created: number;
  last_modified: number | null;
  slice_end: number;
  data: string;
  key_versions: string;
  cleared_version: number;
  user: string | null;
  handle: string | null;
  labels: string | null;
}

/** The columns of a `sessions` row, in the order `SessionRow` lists them. */
export const COLUMNS =
  "key, sid, version, created, last_modified, slice_end, data, key_versions, cleared_version, user, handle, labels";

/** The stored session a `sessions` row holds. */
export function sessionOfRow(row: SessionRow): StoredSession {
  const session: StoredSession = {
    key: row.key,
    sid: row.sid,
    version: row.version,
    created: row.created,
    lastModified: row.last_modified,
    sliceEnd: row.slice_end,
    data: JSON.parse(row.data),
    keyVersions: JSON.parse(row.key_versions),
    clearedVersion: row.cleared_version,
  };
  // Only a signed-in session has these, so others keep the shape they always had.
  if (row.user !== null) {
    session.user = row.user;
    session.handle = row.handle ?? "";
    session.labels = row.labels === null ? {} : JSON.parse(row.labels);
  }
  return session;
}

/**
 * A `SessionStore` on a Durable Object's SQLite storage (`ctx.storage.sql`, synchronous): the
 * part of ZODB's FileStorage file. One row per stored session, indexed on `slice_end` so the sweep
 * reads only expired rows. It adds up the rows every statement read and wrote, as billed.
 *
 * Only this object writes its storage, so it keeps recently used sessions in memory (write
 * through, least recently used out first): a read of a cached session runs no SQL at all. A
 * transaction that fails forgets what memory holds of the sessions it touched, so memory never
 * holds a rolled-back write. A transaction begun inside another is a savepoint: if it fails,
 * only its own writes roll back, and the error goes on to the caller.
 *
 * `batch` holds session writes back until its end, so that a session changed several times in
 * one batch (group commit) is written once: fewer rows written, the same result.
 */
export class SqlStore implements SessionStore {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  /** The transactions under way, outermost first. */
  readonly #frames: Frame[] = [];
  /** The writes `batch` holds back, by session key (`undefined` outside a batch). */
  #pending: Map<string, Pending> | undefined;
  /** Rows read and written by this store's statements since the object started. */
  readonly usage = { rowsRead: 0, rowsWritten: 0 };
  readonly #cache = new SessionCache();
  #writes = 0;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    migrate(storage);
  }

  /** Runs a statement and counts its rows. */
  exec<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...bindings: SqlStorageValue[]
  ): T[] {
    const cursor = this.#sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.usage.rowsRead += cursor.rowsRead;
    this.usage.rowsWritten += cursor.rowsWritten;
    return rows;
  }

  /**
   * Session writes (save, touch, remove) made, or held back by `batch` to be made, since the
   * object started: whether a call changed a session, even before `batch` writes its rows.
   */
  get writes(): number {
    return this.#writes;
  }

  load(key: string): StoredSession | undefined {
    const pending = this.#pending?.get(key);
    if (pending?.kind === "save") return pending.session;
    if (pending?.kind === "remove") return undefined;
    const cached = this.#cache.use(key);
    if (cached !== undefined) return cached.session;
    const [row] = this.exec<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE key = ?`, key);
    if (row === undefined) return undefined;
    let session = sessionOfRow(row);
    if (pending?.kind === "touch") session = { ...session, sliceEnd: pending.sliceEnd };
    this.#cache.remember(session, row.data, row.key_versions.length, row.slice_end);
    return session;
  }

  /**
   * The data of the session `load` last returned for `key`, as stored JSON: what a compact read
   * passes on without parsing and stringifying it again.
   */
  dataJson(session: StoredSession): string {
    const pending = this.#pending?.get(session.key);
    if (pending?.kind === "save" && pending.session.version === session.version) {
      return pending.data;
    }
    const cached = this.#cache.peek(session.key);
    if (cached !== undefined && cached.session.version === session.version) return cached.data;
    return JSON.stringify(session.data);
  }

  save(session: StoredSession): void {
    const data = JSON.stringify(session.data);
    const keyVersions = JSON.stringify(session.keyVersions);
    const rowSliceEnd = this.#cache.peek(session.key)?.rowSliceEnd;
    this.#markWritten(session.key);
    if (this.#pending !== undefined) {
      this.#hold(session.key, { kind: "save", session, data, keyVersions });
      this.#cache.remember(session, data, keyVersions.length, rowSliceEnd);
      return;
    }
    this.#write(session, data, keyVersions, rowSliceEnd);
    this.#cache.remember(session, data, keyVersions.length, session.sliceEnd);
  }

  touch(key: string, sliceEnd: number): void {
    this.#markWritten(key);
    const cached = this.#cache.peek(key);
    if (cached !== undefined) cached.session = { ...cached.session, sliceEnd };
    if (this.#pending !== undefined) {
      const pending = this.#pending.get(key);
      if (pending?.kind === "save") {
        this.#hold(key, { ...pending, session: { ...pending.session, sliceEnd } });
      } else {
        this.#hold(key, { kind: "touch", sliceEnd });
      }
      return;
    }
    this.exec("UPDATE sessions SET slice_end = ? WHERE key = ?", sliceEnd, key);
    if (cached !== undefined) cached.rowSliceEnd = sliceEnd;
  }

  remove(key: string): void {
    this.#markWritten(key);
    this.#cache.forget(key);
    if (this.#pending !== undefined) {
      this.#hold(key, { kind: "remove" });
      return;
    }
    this.exec("DELETE FROM sessions WHERE key = ?", key);
  }

  expired(cutoff: number, limit: number): StoredSession[] {
    return this.exec<SessionRow>(
      `SELECT ${COLUMNS} FROM sessions WHERE slice_end <= ? ORDER BY slice_end LIMIT ?`,
      cutoff,
      limit,
    ).map(sessionOfRow);
  }

  ofUser(tag: string, user: string): StoredSession[] {
    return this.exec<SessionRow>(
      `SELECT ${COLUMNS} FROM sessions WHERE key >= ? AND key < ? AND user = ?`,
      `${tag}!`,
      prefixEnd(`${tag}!`),
      user,
    ).map(sessionOfRow);
  }

  earliestSliceEnd(): number | undefined {
    const [row] = this.exec<{ slice_end: number }>(
      "SELECT slice_end FROM sessions ORDER BY slice_end LIMIT 1",
    );
    return row?.slice_end;
  }

  /** Up to `limit` stored keys after `cursor`, in key order (a scan in batches). */
  keysAfter(cursor: string, limit: number): string[] {
    return this.exec<{ key: string }>(
      "SELECT key FROM sessions WHERE key > ? ORDER BY key LIMIT ?",
      cursor,
      limit,
    ).map((row) => row.key);
  }

  /** The stored keys that begin with `prefix` (`tag!`: a range of the key index). */
  keysWithPrefix(prefix: string): string[] {
    return this.exec<{ key: string }>(
      "SELECT key FROM sessions WHERE key >= ? AND key < ?",
      prefix,
      prefixEnd(prefix),
    ).map((row) => row.key);
  }

  count(): number {
    const [row] = this.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sessions");
    return row?.n ?? 0;
  }

  transaction<T>(fn: () => T): T {
    const frame: Frame = { written: new Set(), undo: new Map(), rollbacks: [] };
    this.#frames.push(frame);
    let done = false;
    try {
      // Nested inside another transaction, this is a savepoint of it.
      const result = this.#storage.transactionSync(fn);
      done = true;
      return result;
    } catch (error) {
      // SQLite rolled the writes back; undo what memory holds of them.
      for (const [key, before] of frame.undo) {
        if (before === undefined) this.#pending?.delete(key);
        else this.#pending?.set(key, before);
      }
      for (const key of frame.written) this.#cache.forget(key);
      for (const undo of frame.rollbacks.reverse()) undo();
      throw error;
    } finally {
      this.#frames.pop();
      const parent = this.#frames.at(-1);
      if (done && parent !== undefined) {
        for (const key of frame.written) parent.written.add(key);
        parent.rollbacks.push(...frame.rollbacks);
        for (const [key, before] of frame.undo) {
          if (!parent.undo.has(key)) parent.undo.set(key, before);
        }
      }
    }
  }

  /**
   * Runs `undo` if the transaction under way rolls back, its enclosing ones included: for what a
   * transaction changed outside storage (the events it handed to the hooks' queue).
   */
  onRollback(undo: () => void): void {
    this.#frames.at(-1)?.rollbacks.push(undo);
  }

  /**
   * Runs `fn` in one transaction, holding session writes back to its end: each session changed
   * in it is written once, in its last state. Reads inside see the held-back writes. Used for a
   * group of commits (each in its own nested transaction inside `fn`).
   */
  batch<T>(fn: () => T): T {
    if (this.#pending !== undefined) return fn();
    return this.transaction(() => {
      const pending = new Map<string, Pending>();
      this.#pending = pending;
      try {
        const result = fn();
        this.#pending = undefined;
        this.#writePending(pending);
        return result;
      } finally {
        this.#pending = undefined;
      }
    });
  }

  #writePending(pending: Map<string, Pending>): void {
    for (const [key, write] of pending) {
      const cached = this.#cache.peek(key);
      if (write.kind === "save") {
        this.#write(write.session, write.data, write.keyVersions, cached?.rowSliceEnd);
        if (cached !== undefined) cached.rowSliceEnd = write.session.sliceEnd;
      } else if (write.kind === "touch") {
        this.exec("UPDATE sessions SET slice_end = ? WHERE key = ?", write.sliceEnd, key);
        if (cached !== undefined) cached.rowSliceEnd = write.sliceEnd;
      } else {
        this.exec("DELETE FROM sessions WHERE key = ?", key);
      }
    }
  }

  /**
   * Writes a session's row. When the row is known to hold the same slice end, it is left out of
   * the statement, so its index entry is not rewritten: 1 row written instead of 2.
   */
  #write(session: StoredSession, data: string, keyVersions: string, rowSliceEnd?: number): void {
    if (rowSliceEnd === session.sliceEnd) {
      this.exec(
        "UPDATE sessions SET sid = ?, version = ?, created = ?, last_modified = ?, data = ?, key_versions = ?, cleared_version = ?, user = ?, handle = ?, labels = ? WHERE key = ?",
        session.sid,
        session.version,
        session.created,
        session.lastModified,
        data,
        keyVersions,
        session.clearedVersion,
        ...userColumns(session),
        session.key,
      );
      return;
    }
    this.exec(
      `INSERT OR REPLACE INTO sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      session.key,
      session.sid,
      session.version,
      session.created,
      session.lastModified,
      session.sliceEnd,
      data,
      keyVersions,
      session.clearedVersion,
      ...userColumns(session),
    );
  }

  /** Records a held-back write, keeping the one before it for the innermost transaction's undo. */
  #hold(key: string, write: Pending): void {
    const pending = this.#pending as Map<string, Pending>;
    const frame = this.#frames.at(-1);
    if (frame !== undefined && !frame.undo.has(key)) frame.undo.set(key, pending.get(key));
    pending.set(key, write);
  }

  #markWritten(key: string): void {
    this.#writes++;
    this.#frames.at(-1)?.written.add(key);
  }
}

/** The `user`, `handle` and `labels` columns of a session's row (all null when not signed in). */
function userColumns(session: StoredSession): [string | null, string | null, string | null] {
  if (session.user === undefined) return [null, null, null];
  return [session.user, session.handle ?? null, JSON.stringify(session.labels ?? {})];
}

/**
 * The first string after every string that begins with `prefix` (its last character moved up
 * by one): `key >= prefix AND key < prefixEnd(prefix)` is a range of the key index.
 */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
