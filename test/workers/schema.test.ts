import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION } from "../../durable-object/storage/schema";
import { SqlStore } from "../../durable-object/storage/sql-store";
import { unwrap } from "../../src/index";
import { manager, T0 } from "./helpers";

/** Puts the sessions table back to its version 1 and 2 form: `slice`, the slice's start. */
function toVersion2Sessions(sql: SqlStorage): void {
  sql.exec(`
    DROP INDEX IF EXISTS sessions_by_slice_end;
    ALTER TABLE sessions DROP COLUMN user;
    ALTER TABLE sessions DROP COLUMN handle;
    ALTER TABLE sessions DROP COLUMN labels;
    ALTER TABLE sessions RENAME COLUMN slice_end TO slice;
    CREATE INDEX sessions_by_slice ON sessions (slice);
  `);
}

describe("the SQLite schema", () => {
  it("brings a version 1 outbox up to date, keeping waiting events in order", async () => {
    const stub = env.SESSION_MANAGER.getByName("schema-migration");
    const result = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      // Put the object back to schema version 1, with two events waiting.
      toVersion2Sessions(sql);
      sql.exec("DROP TABLE outbox");
      sql.exec(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
      );
      sql.exec("INSERT INTO outbox (id, body) VALUES ('a:end', '{}'), ('b:end', '{}')");
      sql.exec("UPDATE schema_version SET version = 1");
      new SqlStore(state.storage);
      return {
        version: sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version,
        ids: sql
          .exec<{ id: string }>("SELECT id FROM outbox ORDER BY seq")
          .toArray()
          .map((r) => r.id),
        table: sql
          .exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'outbox'")
          .one().sql,
      };
    });
    expect(result.version).toBe(SCHEMA_VERSION);
    expect(result.ids).toEqual(["a:end", "b:end"]);
    expect(result.table).not.toMatch(/AUTOINCREMENT|UNIQUE/);
  });

  it("brings version 2 sessions to version 3: the slice's end, so they expire as before", async () => {
    const stub = env.SESSION_MANAGER.getByName("schema-slice-end");
    unwrap(await manager("schema-slice-end").open("schema-slice-end", { timeout: 60, period: 20 }));
    const row = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      toVersion2Sessions(sql);
      // A session last accessed in the slice that starts at T0 (version 2 kept the start).
      sql.exec(
        `INSERT INTO sessions (key, sid, version, created, last_modified, slice, data, key_versions, cleared_version)
         VALUES ('k', 'sid-k', 1, ?, ?, ?, '{"n":1}', '{"n":1}', 0)`,
        T0,
        T0,
        T0,
      );
      sql.exec("UPDATE schema_version SET version = 2");
      new SqlStore(state.storage);
      return {
        version: sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version,
        sliceEnd: sql.exec<{ slice_end: number }>("SELECT slice_end FROM sessions").one().slice_end,
        index: sql
          .exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'",
          )
          .toArray()
          .map((r) => r.name),
      };
    });
    expect(row.version).toBe(SCHEMA_VERSION);
    // Version 2 ended it at the first N with N - T0 > 60: T0 + 80; so does version 3.
    expect(row.sliceEnd).toBe(T0 + 20);
    expect(row.index).toContain("sessions_by_slice_end");
    expect(row.index).not.toContain("sessions_by_slice");
  });

  it("brings a schema up in one transaction: a step that fails leaves the storage as it was", async () => {
    const stub = env.SESSION_MANAGER.getByName("schema-atomic");
    const after = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      // Version 1, but with a sessions table that step 3 cannot rename (it has no "slice" column).
      sql.exec("DROP TABLE outbox");
      sql.exec(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
      );
      sql.exec("INSERT INTO outbox (id, body) VALUES ('a:end', '{}')");
      sql.exec("UPDATE schema_version SET version = 1");
      let error = "no error";
      try {
        new SqlStore(state.storage);
      } catch (e) {
        error = (e as Error).message;
      }
      const seen = {
        error,
        version: sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version,
        outbox: sql
          .exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'outbox'")
          .one().sql,
      };
      // Put the object back where the other tests expect it.
      sql.exec("UPDATE schema_version SET version = ?", SCHEMA_VERSION);
      return seen;
    });
    expect(after.error).not.toBe("no error");
    // Step 2 (the outbox rebuilt) ran before step 3 failed, and was rolled back with it.
    expect(after.version).toBe(1);
    expect(after.outbox).toMatch(/AUTOINCREMENT/);
  });

  it("refuses a schema newer than the code", async () => {
    const stub = env.SESSION_MANAGER.getByName("schema-newer");
    const message = await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE schema_version SET version = ?", SCHEMA_VERSION + 1);
      try {
        new SqlStore(state.storage);
        return "no error";
      } catch (error) {
        state.storage.sql.exec("UPDATE schema_version SET version = ?", SCHEMA_VERSION);
        return (error as Error).message;
      }
    });
    expect(message).toMatch(/newer than this code/);
  });
});
