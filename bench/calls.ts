// What the bench worker can be asked to time: shared by the runner (Node) and the worker.

/**
 * Diagnostics, one part of a call alone: `none`, nothing (a call with a get's arguments and a
 * number back); `sql`, the session row's SELECT; `sql-json`, the SELECT with its data parsed and
 * returned; `sql-write`, one row written to a bench table (what any storage write costs);
 * `sql-write-sync`, that write and a `storage.sync()` (what group commit asks after each write
 * to learn when it is durable); `sql-write-txn1`, that write in a transaction of its own (as a
 * lone commit is); `sql-write-txn`, in two nested transactions; `sql-write-row`, the statement a
 * commit runs (the session's row, every column); `sql-write-session`, the row with its JSON
 * unchanged;
 * `result`, the `get` result of the key, computed once and returned again (what returning a
 * session costs); `result-json`, that result as one JSON string; `result-view`, the compact
 * read's result (`{ ok, value }` around the view's JSON text), computed once; `result-text`, that
 * result as one string (`getJson`'s answer).
 */
export type ProbeKind =
  | "none"
  | "sql"
  | "sql-json"
  | "sql-write"
  | "sql-write-sync"
  | "sql-write-txn1"
  | "sql-write-txn"
  | "sql-write-row"
  | "sql-write-session"
  | "result"
  | "result-json"
  | "result-view"
  | "result-text";

/**
 * One kind of call the bench times: `ping`; `get` (the snapshot as an object, as RPC clients
 * read); `get-view` (the compact read as the HTTP API makes it: JSON text back, passed on as it
 * is); `get-view-parsed` (the same, parsed by the caller); `commit` of a one-key change (each
 * worker its own key, against the version its last commit returned, so none conflicts); a
 * `probe`.
 */
export interface CallSpec {
  op: "ping" | "get" | "get-view" | "get-view-parsed" | "commit" | "probe";
  probe?: ProbeKind;
  app: string;
  /** Session keys the calls go over (round robin). For `commit`, one key per worker. */
  keys: string[];
  /** Calls in flight at once. */
  concurrency: number;
  /** Shards the keys spread over (`objectName(app, key, shards)`). Default 1. */
  shards?: number;
  /**
   * `fixed`: stubs looked up once per key before timing (the fastest possible); `router`: every
   * call through the worker's `SessionRouter` (ids kept per isolate, a stub per call);
   * `getByName`: name and `getByName` for every call (what the router did before it kept ids).
   * Default `fixed`.
   */
  routing?: "fixed" | "router" | "getByName";
}
