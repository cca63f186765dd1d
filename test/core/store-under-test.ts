import { MemoryStore } from "../../src/core/memory-store";
import type { StoredSession } from "../../src/core/session-view";
import type { SessionStore } from "../../src/core/store";

/**
 * A store for the model and property tests (session-model.ts, session-properties.ts), fresh for
 * one run: the same tests run over `MemoryStore` in Node and over the object's `SqlStore` in
 * workerd (test/workers/sql-store-model.test.ts).
 */
export interface StoreUnderTest {
  store: SessionStore;
  /** What the storage itself holds for `key`, read past any cache the store keeps. */
  stored(key: string): StoredSession | undefined;
  /** Rows written so far, as the store counts them. */
  rowsWritten(): number;
  /** Runs one unit of work's commit: as it is, or inside whatever groups commits (`SqlStore.batch`). */
  group<T>(fn: () => T): T;
}

/** A fresh `MemoryStore`, as the core tests use it. */
export function memoryStore(): StoreUnderTest {
  const store = new MemoryStore();
  return {
    store,
    stored: (key) => store.load(key),
    rowsWritten: () => store.rowsWritten,
    group: (fn) => fn(),
  };
}
