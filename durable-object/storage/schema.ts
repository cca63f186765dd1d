import { DEFAULT_SETTINGS } from "../../src/core/settings.js";

/**
 * One step of the object's schema: what it brings, and the SQL that brings it (a function where
 * the step depends on stored data). Steps run in order, each once per object.
 */
interface Migration {
  version: number;
  brings: string;
  up: string | ((sql: SqlStorage) => void);
}

/**
 * The object's tables (docs/DESIGN.md#storage), as the steps that made them. A new schema is a
 * new step at the end; `SCHEMA_VERSION` follows from the list.
 */
const MIGRATIONS: Migration[] = [
  {
    version: 1,
    brings: "sessions (indexed on slice), the app's settings, the event outbox",
    up: `
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
      );`,
  },
  {
    version: 2,
    brings:
      "the outbox as one B-tree (no AUTOINCREMENT, no unique index on id): fewer rows written per event; waiting events keep their order",
    up: `
      CREATE TABLE outbox_v2 (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL);
      INSERT INTO outbox_v2 (id, body) SELECT id, body FROM outbox ORDER BY seq;
      DROP TABLE outbox;
      ALTER TABLE outbox_v2 RENAME TO outbox;`,
  },
  {
    version: 3,
    brings:
      "a session remembers the end of the timeslice of its last access, not its start, so that expiry no longer depends on the period; rows stored before move forward by the app's period (or the default)",
    up: (sql) => {
      const [app] = sql.exec<{ settings: string }>("SELECT settings FROM app").toArray();
      const period = Number(app === undefined ? Number.NaN : JSON.parse(app.settings).period);
      sql.exec(`
        ALTER TABLE sessions RENAME COLUMN slice TO slice_end;
        DROP INDEX IF EXISTS sessions_by_slice;
        CREATE INDEX sessions_by_slice_end ON sessions (slice_end);`);
      sql.exec(
        "UPDATE sessions SET slice_end = slice_end + ?",
        Number.isFinite(period) && period > 0 ? period : DEFAULT_SETTINGS.period,
      );
    },
  },
  {
    version: 4,
    brings:
      "resharding (docs/DESIGN.md#resharding): this object's layout; the sessions it handed off until their owner confirms them; the sessions it took in during the current move",
    up: `
      CREATE TABLE IF NOT EXISTS layout (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS move_out (
        key TEXT PRIMARY KEY,
        sid TEXT NOT NULL,
        target TEXT NOT NULL,
        session TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS move_in (key TEXT NOT NULL, sid TEXT NOT NULL, PRIMARY KEY (key, sid)) WITHOUT ROWID;`,
  },
  {
    version: 5,
    brings:
      "users (docs/DESIGN.md#users): the user a session is signed in as, its handle and its labels; a user's sessions share a key prefix, so the key index finds them",
    up: `
      ALTER TABLE sessions ADD COLUMN user TEXT;
      ALTER TABLE sessions ADD COLUMN handle TEXT;
      ALTER TABLE sessions ADD COLUMN labels TEXT;`,
  },
  {
    version: 6,
    brings:
      "metrics (docs/DESIGN.md#metrics): this object's counts of sessions created and ended, commits, conflicts and refusals, saved by the alarm",
    up: "CREATE TABLE IF NOT EXISTS metrics (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);",
  },
];

/** The schema this code reads and writes: the last step's version. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Creates the schema, or brings an older one up to `SCHEMA_VERSION`: every pending step and the
 * new version in one transaction, so an object never starts on a schema half brought up. Refuses
 * storage from a newer version of the code.
 */
export function migrate(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const current =
    sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `Stored schema version ${current} is newer than this code's (${SCHEMA_VERSION}): deploy the newer version of edge-sessions.`,
    );
  }
  if (current === SCHEMA_VERSION) return;
  storage.transactionSync(() => {
    for (const step of MIGRATIONS) {
      if (step.version <= current) continue;
      if (typeof step.up === "string") sql.exec(step.up);
      else step.up(sql);
    }
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
  });
}
