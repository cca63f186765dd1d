import type { StoredSession } from "./session-view.js";
import type { SessionStore } from "./store.js";

/**
 * A `SessionStore` in memory. Two managers built on one `MemoryStore` behave like two
 * connections to one database. It counts the rows it writes, like SQLite's `rowsWritten`, so
 * tests can check what an operation costs.
 *
 * @example
 * const store = new MemoryStore();
 * const a = new SessionDataManager({ store });
 * const b = new SessionDataManager({ store });
 */
export class MemoryStore implements SessionStore {
  #sessions = new Map<string, StoredSession>();
  #inTransaction = false;
  /** Rows written (inserted, replaced, touched or deleted) since creation. */
  rowsWritten = 0;

  load(key: string): StoredSession | undefined {
    return this.#sessions.get(key);
  }

  save(session: StoredSession): void {
    this.#sessions.set(session.key, session);
    this.rowsWritten++;
  }

  touch(key: string, sliceEnd: number): void {
    const session = this.#sessions.get(key);
    if (session === undefined) return;
    this.#sessions.set(key, { ...session, sliceEnd });
    this.rowsWritten++;
  }

  remove(key: string): void {
    if (this.#sessions.delete(key)) this.rowsWritten++;
  }

  expired(cutoff: number, limit: number): StoredSession[] {
    return [...this.#sessions.values()]
      .filter((s) => s.sliceEnd <= cutoff)
      .sort((a, b) => a.sliceEnd - b.sliceEnd)
      .slice(0, limit);
  }

  ofUser(tag: string, user: string): StoredSession[] {
    const prefix = `${tag}!`;
    return [...this.#sessions.values()].filter((s) => s.key.startsWith(prefix) && s.user === user);
  }

  earliestSliceEnd(): number | undefined {
    let earliest: number | undefined;
    for (const s of this.#sessions.values()) {
      if (earliest === undefined || s.sliceEnd < earliest) earliest = s.sliceEnd;
    }
    return earliest;
  }

  count(): number {
    return this.#sessions.size;
  }

  transaction<T>(fn: () => T): T {
    if (this.#inTransaction) return fn();
    // Records are never mutated in place, so a shallow copy of the map is a full snapshot.
    const before = new Map(this.#sessions);
    const writesBefore = this.rowsWritten;
    this.#inTransaction = true;
    try {
      return fn();
    } catch (error) {
      this.#sessions = before;
      this.rowsWritten = writesBefore;
      throw error;
    } finally {
      this.#inTransaction = false;
    }
  }
}
