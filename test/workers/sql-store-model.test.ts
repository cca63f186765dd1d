/**
 * The model and property tests of the core (test/core/session-model.ts,
 * test/core/session-properties.ts) over the object's own store: `SqlStore` on a real Durable
 * Object's SQLite storage, with its cache, its held-back writes (`batch`, as group commit uses it)
 * and its savepoints. Each run starts from an empty sessions table; after every step the rows
 * themselves (read past the cache) must hold what the model holds.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  COLUMNS,
  type SessionRow,
  SqlStore,
  sessionOfRow,
} from "../../durable-object/storage/sql-store";
import * as model from "../core/session-model";
import * as properties from "../core/session-properties";
import type { StoreUnderTest } from "../core/store-under-test";
import { manager } from "./helpers";

/** Fresh `SqlStore`s on `storage`, each over an empty sessions table; `batched` groups commits. */
function sqlStores(storage: DurableObjectStorage, batched: boolean): () => StoreUnderTest {
  return () => {
    storage.sql.exec("DELETE FROM sessions");
    const store = new SqlStore(storage);
    return {
      store,
      stored: (key) => {
        const [row] = storage.sql
          .exec<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE key = ?`, key)
          .toArray();
        return row === undefined ? undefined : sessionOfRow(row);
      },
      rowsWritten: () => store.usage.rowsWritten,
      group: batched ? (fn) => store.batch(fn) : (fn) => fn(),
    };
  };
}

/** Runs `fn` with the storage of a Durable Object of its own. */
function withStorage(name: string, fn: (storage: DurableObjectStorage) => void): Promise<void> {
  return runInDurableObject(manager(name), (_instance, state) => fn(state.storage));
}

describe("the model and property tests over SqlStore", () => {
  for (const batched of [false, true]) {
    const how = batched ? "each commit in a batch (held-back writes)" : "each commit alone";
    it(`agrees with the model of the session rules, ${how}`, async () => {
      const before = { ...model.outcomes };
      await withStorage(`sql-model-${batched}`, (storage) => {
        fc.assert(
          fc.property(model.ops(60), (list) => model.run(list, sqlStores(storage, batched))),
          { numRuns: 200 },
        );
      });
      expect(model.outcomes.conflict - before.conflict).toBeGreaterThan(10);
      expect(model.outcomes.ok - before.ok).toBeGreaterThan(100);
    });

    it(`stores nothing for a no-op commit and never ends a session early, ${how}`, async () => {
      const before = { ...properties.seen };
      await withStorage(`sql-props-${batched}`, (storage) => {
        fc.assert(
          fc.property(properties.settings, properties.ops(), (initial, list) =>
            properties.run(initial, list, sqlStores(storage, batched)),
          ),
          { numRuns: 200 },
        );
      });
      expect(properties.seen.noop - before.noop).toBeGreaterThan(40);
      expect(properties.seen.stored - before.stored).toBeGreaterThan(100);
      expect(properties.seen.expired - before.expired).toBeGreaterThan(20);
      expect(properties.seen.shortened - before.shortened).toBeGreaterThan(20);
    });
  }
});
