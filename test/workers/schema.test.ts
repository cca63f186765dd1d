import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION, SqlStore } from "../../durable-objects/index";

describe("the SQLite schema", () => {
  it("brings a version 1 outbox up to date, keeping waiting events in order", async () => {
    const stub = env.SESSION_MANAGER.getByName("schema-migration");
    const result = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      // Put the object back to schema version 1, with two events waiting.
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
