import type { StoredSession } from "../../src/core/session-view.js";
import { prefixEnd, type SqlStore } from "./sql-store.js";

// Every statement on the object's tables besides `sessions` (whose home is SqlStore), by table
// (docs/DESIGN.md#storage; the tables themselves are made in schema.ts). Each goes through
// `SqlStore.exec`, which counts the rows it reads and writes.

/** The `app` row: the app this object holds and its settings, as JSON. */
export const appRow = {
  load(store: SqlStore): { name: string; settings: string } | undefined {
    return store.exec<{ name: string; settings: string }>("SELECT name, settings FROM app")[0];
  },
  save(store: SqlStore, name: string, settings: string): void {
    store.exec("INSERT OR REPLACE INTO app (id, name, settings) VALUES (1, ?, ?)", name, settings);
  },
};

/** The `outbox`: events waiting for the Queue, in the order they were made. */
export const outboxRows = {
  add(store: SqlStore, id: string, body: string): void {
    store.exec("INSERT INTO outbox (id, body) VALUES (?, ?)", id, body);
  },
  /** Whether any event waits (reads at most one row). */
  any(store: SqlStore): boolean {
    return store.exec("SELECT 1 FROM outbox LIMIT 1").length > 0;
  },
  count(store: SqlStore): number {
    return store.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox")[0]?.n ?? 0;
  },
  first(store: SqlStore, limit: number): { seq: number; body: string }[] {
    return store.exec<{ seq: number; body: string }>(
      "SELECT seq, body FROM outbox ORDER BY seq LIMIT ?",
      limit,
    );
  },
  remove(store: SqlStore, firstSeq: number, lastSeq: number): void {
    store.exec("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", firstSeq, lastSeq);
  },
};

/** The `layout` row: this object's layout and the state of a move, as JSON. */
export const layoutRow = {
  load(store: SqlStore): string | undefined {
    return store.exec<{ body: string }>("SELECT body FROM layout")[0]?.body;
  },
  save(store: SqlStore, body: string): void {
    store.exec("INSERT OR REPLACE INTO layout (id, body) VALUES (1, ?)", body);
  },
};

/** A session handed off during a move, kept in `move_out` until its owner confirms it. */
export interface HandedOff extends Record<string, SqlStorageValue> {
  key: string;
  sid: string;
  target: string;
  session: string;
}

/** `move_out`: sessions handed off, until their owner confirms them. */
export const moveOutRows = {
  any(store: SqlStore): boolean {
    return store.exec("SELECT key FROM move_out LIMIT 1").length > 0;
  },
  count(store: SqlStore): number {
    return store.exec<{ n: number }>("SELECT COUNT(*) AS n FROM move_out")[0]?.n ?? 0;
  },
  add(store: SqlStore, session: StoredSession, target: string): void {
    store.exec(
      "INSERT OR REPLACE INTO move_out (key, sid, target, session) VALUES (?, ?, ?, ?)",
      session.key,
      session.sid,
      target,
      JSON.stringify(session),
    );
  },
  find(store: SqlStore, key: string): HandedOff | undefined {
    return store.exec<HandedOff>(
      "SELECT key, sid, target, session FROM move_out WHERE key = ?",
      key,
    )[0];
  },
  /** The keys handed off that begin with `prefix` (`tag!`). */
  keysWithPrefix(store: SqlStore, prefix: string): string[] {
    return store
      .exec<{ key: string }>(
        "SELECT key FROM move_out WHERE key >= ? AND key < ?",
        prefix,
        prefixEnd(prefix),
      )
      .map((row) => row.key);
  },
  first(store: SqlStore, limit: number): HandedOff[] {
    return store.exec<HandedOff>("SELECT key, sid, target, session FROM move_out LIMIT ?", limit);
  },
  /** Forgets one hand-off of `key` with `sid`; whether there was one. */
  release(store: SqlStore, key: string, sid: string): boolean {
    return (
      store.exec("DELETE FROM move_out WHERE key = ? AND sid = ? RETURNING key", key, sid).length >
      0
    );
  },
};

/** `move_in`: the ledger of sessions taken in during the current move. */
export const moveInRows = {
  has(store: SqlStore, key: string, sid: string): boolean {
    return store.exec("SELECT sid FROM move_in WHERE key = ? AND sid = ?", key, sid).length > 0;
  },
  add(store: SqlStore, key: string, sid: string): void {
    store.exec("INSERT INTO move_in (key, sid) VALUES (?, ?)", key, sid);
  },
  clear(store: SqlStore): void {
    store.exec("DELETE FROM move_in");
  },
};

/** The `metrics` row: this object's counts, as JSON (docs/DESIGN.md#metrics). */
export const metricsRow = {
  load(store: SqlStore): string | undefined {
    return store.exec<{ body: string }>("SELECT body FROM metrics")[0]?.body;
  },
  save(store: SqlStore, body: string): void {
    store.exec("INSERT OR REPLACE INTO metrics (id, body) VALUES (1, ?)", body);
  },
};
