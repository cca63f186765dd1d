import { DEFAULT_SETTINGS } from "../src/settings.js";
import type { SessionStore } from "../src/store.js";
import type { StoredSession } from "../src/stored-session.js";

/** The schema this code reads and writes. Bump it with a migration in `migrate()`. */
export const SCHEMA_VERSION = 4;

interface SessionRow extends Record<string, SqlStorageValue> {
  key: string;
  sid: string;
  version: number;
  created: number;
  last_modified: number | null;
  slice_end: number;
  data: string;
  key_versions: string;
  cleared_version: number;
}

const COLUMNS =
  "key, sid, version, created, last_modified, slice_end, data, key_versions, cleared_version";

/**
 * Sessions kept in memory, by an estimate of their size (both JSON columns, twice over for the
 * parsed objects): enough for the hot ones, far from the 128 MB an isolate has.
 */
export const CACHE_BYTES = 8 * 1024 * 1024;

/**
 * A `SessionStore` on a Durable Object's SQLite storage (`ctx.storage.sql`, synchronous): the
 * part of ZODB's FileStorage file. One row per stored session, indexed on `slice_end` so the sweep
 * reads only expired rows. It adds up the rows every statement read and wrote, as billed.
 *
 * Only this object writes its storage, so it keeps recently used sessions in memory (write
 * through, least recently used out first): a read of a cached session runs no SQL at all. A
 * transaction that fails drops the whole cache, so memory never holds a rolled-back write.
 */
export class SqlStore implements SessionStore {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  /** The keys written by the transaction under way (`undefined` outside one). */
  #written: Set<string> | undefined;
  /** Rows read and written by this store's statements since the object started. */
  readonly usage = { rowsRead: 0, rowsWritten: 0 };
  readonly #cache = new Map<string, { session: StoredSession; bytes: number }>();
  #cacheBytes = 0;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    migrate(this.#sql);
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

  load(key: string): StoredSession | undefined {
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      // Most recently used last.
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached.session;
    }
    const [row] = this.exec<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE key = ?`, key);
    if (row === undefined) return undefined;
    const session = fromRow(row);
    this.#remember(session, 2 * (row.data.length + row.key_versions.length));
    return session;
  }

  save(session: StoredSession): void {
    const data = JSON.stringify(session.data);
    const keyVersions = JSON.stringify(session.keyVersions);
    this.#written?.add(session.key);
    this.exec(
      `INSERT OR REPLACE INTO sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      session.key,
      session.sid,
      session.version,
      session.created,
      session.lastModified,
      session.sliceEnd,
      data,
      keyVersions,
      session.clearedVersion,
    );
    this.#remember(session, 2 * (data.length + keyVersions.length));
  }

  touch(key: string, sliceEnd: number): void {
    this.#written?.add(key);
    this.exec("UPDATE sessions SET slice_end = ? WHERE key = ?", sliceEnd, key);
    const cached = this.#cache.get(key);
    if (cached !== undefined) cached.session = { ...cached.session, sliceEnd };
  }

  remove(key: string): void {
    this.#written?.add(key);
    this.exec("DELETE FROM sessions WHERE key = ?", key);
    this.#forget(key);
  }

  expired(cutoff: number, limit: number): StoredSession[] {
    return this.exec<SessionRow>(
      `SELECT ${COLUMNS} FROM sessions WHERE slice_end <= ? ORDER BY slice_end LIMIT ?`,
      cutoff,
      limit,
    ).map(fromRow);
  }

  earliestSliceEnd(): number | undefined {
    const [row] = this.exec<{ slice_end: number }>(
      "SELECT slice_end FROM sessions ORDER BY slice_end LIMIT 1",
    );
    return row?.slice_end;
  }

  count(): number {
    const [row] = this.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sessions");
    return row?.n ?? 0;
  }

  transaction<T>(fn: () => T): T {
    if (this.#written !== undefined) return fn();
    this.#written = new Set();
    try {
      return this.#storage.transactionSync(fn);
    } catch (error) {
      // SQLite rolled the writes back; forget what memory holds of the sessions they touched.
      for (const key of this.#written) this.#forget(key);
      throw error;
    } finally {
      this.#written = undefined;
    }
  }

  #remember(session: StoredSession, bytes: number): void {
    this.#forget(session.key);
    this.#cache.set(session.key, { session, bytes });
    this.#cacheBytes += bytes;
    for (const [key, entry] of this.#cache) {
      if (this.#cacheBytes <= CACHE_BYTES) break;
      this.#cache.delete(key);
      this.#cacheBytes -= entry.bytes;
    }
  }

  #forget(key: string): void {
    const cached = this.#cache.get(key);
    if (cached === undefined) return;
    this.#cache.delete(key);
    this.#cacheBytes -= cached.bytes;
  }
}

function fromRow(row: SessionRow): StoredSession {
  return {
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
}

/** Creates the schema, or brings an older one up to `SCHEMA_VERSION`. */
function migrate(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const current =
    sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `Stored schema version ${current} is newer than this code's (${SCHEMA_VERSION}): deploy the newer version of edge-sessions.`,
    );
  }
  if (current === SCHEMA_VERSION) return;
  if (current < 1) {
    // Version 1: sessions (indexed on slice), the app's settings, the event outbox.
    sql.exec(`
      CREATE TABLE IF NOT EXISTS app (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        settings TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS sessions (
        key TEXT PRIMARY KEY,
        sid TEXT NOT NULL,
        version INTEGER NOT NULL,
        created REAL NOT NULL,
        last_modified REAL,
        slice REAL NOT NULL,
        data TEXT NOT NULL,
        key_versions TEXT NOT NULL,
        cleared_version INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS sessions_by_slice ON sessions (slice);
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL
      );
    `);
  }
  if (current < 2) {
    // Version 2: the outbox as one B-tree (no AUTOINCREMENT, no unique index on id): fewer rows
    // written per event. Waiting events keep their order.
    sql.exec(`
      CREATE TABLE outbox_v2 (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL);
      INSERT INTO outbox_v2 (id, body) SELECT id, body FROM outbox ORDER BY seq;
      DROP TABLE outbox;
      ALTER TABLE outbox_v2 RENAME TO outbox;
    `);
  }
  if (current < 3) {
    // Version 3: a session remembers the end of the timeslice of its last access instead of its
    // start, so that expiry no longer depends on the period (which an app may change). Rows
    // stored before were sliced with the app's period as it is now (or the default).
    const [app] = sql.exec<{ settings: string }>("SELECT settings FROM app").toArray();
    const period = Number(app === undefined ? Number.NaN : JSON.parse(app.settings).period);
    sql.exec(`
      ALTER TABLE sessions RENAME COLUMN slice TO slice_end;
      DROP INDEX IF EXISTS sessions_by_slice;
      CREATE INDEX sessions_by_slice_end ON sessions (slice_end);
    `);
    sql.exec(
      "UPDATE sessions SET slice_end = slice_end + ?",
      Number.isFinite(period) && period > 0 ? period : DEFAULT_SETTINGS.period,
    );
  }
  if (current < 4) {
    // Version 4: resharding (docs/DESIGN.md#resharding). This object's layout; the sessions it handed
    // off until their owner confirms them; the sessions it took in during the current move.
    sql.exec(`
      CREATE TABLE IF NOT EXISTS layout (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS move_out (
        key TEXT PRIMARY KEY,
        sid TEXT NOT NULL,
        target TEXT NOT NULL,
        session TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS move_in (key TEXT NOT NULL, sid TEXT NOT NULL, PRIMARY KEY (key, sid)) WITHOUT ROWID;
    `);
  }
  sql.exec("DELETE FROM schema_version");
  sql.exec("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
}
