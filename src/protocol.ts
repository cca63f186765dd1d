import type { Result } from "./result.js";
import type { AppSettings } from "./settings.js";
import type { CommitResult, SessionView } from "./stored-session.js";

/** What `stats` reports about an app (of one Durable Object, i.e. one shard). */
export interface AppStats {
  app: string;
  settings: AppSettings;
  /** Sessions stored now. */
  sessions: number;
  /** When the alarm will next sweep (seconds since the epoch), or `null` when none is set. */
  nextSweep: number | null;
  /** Events waiting for the Queue. */
  pendingEvents: number;
  /** Rows read and written by the object's statements since it started. */
  usage: { rowsRead: number; rowsWritten: number };
}

/**
 * The session operations as another Worker calls them: on a `SessionManagerObject` stub (DO
 * binding) or on the `SessionService` entrypoint (service binding). Every method answers with a
 * `Result`; `unwrap` turns an error result back into its typed error. Sessions come as
 * `SessionView`s and commits answer a `CommitResult`: the same shapes as the HTTP API's.
 *
 * Typing a stub as this interface also spares TypeScript the deep RPC types of JSON data.
 */
export interface SessionManagerRpc {
  open(app: string, settings?: Partial<AppSettings>): Promise<Result<AppSettings>>;
  configure(app: string, settings: Partial<AppSettings>): Promise<Result<AppSettings>>;
  get(app: string, key: string): Promise<Result<SessionView>>;
  query(app: string, key: string): Promise<Result<SessionView | null>>;
  has(app: string, key: string): Promise<Result<boolean>>;
  commit(app: string, changes: unknown): Promise<Result<CommitResult>>;
  /**
   * Commits several changesets (each with its `key`) in one call: each is atomic on its own (a
   * conflict in one does not touch the others), and those that land on one object are written
   * in one storage transaction. One `CommitResult` per changeset, in order. A malformed list is
   * refused whole (400), before anything is written.
   */
  commitMany(app: string, changes: unknown[]): Promise<Result<Result<CommitResult>[]>>;
  /**
   * `get`, answered compactly: the `SessionView` as JSON text, its data passed on as stored.
   * `snapshotOfView` turns it back into a snapshot.
   */
  getView(app: string, key: string): Promise<Result<string>>;
  /** `query`, answered compactly: the `SessionView` as JSON text, or `null`. */
  queryView(app: string, key: string): Promise<Result<string | null>>;
  invalidate(app: string, key: string): Promise<Result<boolean>>;
  regenerate(app: string, oldKey: string, newKey: string): Promise<Result<SessionView>>;
  stats(app: string): Promise<Result<AppStats>>;
}

/** What only a Durable Object stub offers beyond `SessionManagerRpc`. */
export interface SessionObjectRpc extends SessionManagerRpc {
  /** A shard takes the app's settings on first use (no comparison with the home object's). */
  adopt(app: string, settings: Partial<AppSettings>): Promise<Result<AppSettings>>;
  /** The app's stored settings, or `null` for an app never stored. Stores nothing. */
  storedSettings(app: string): Promise<Result<AppSettings | null>>;
  /** Ends every expired session now and sends the waiting events; returns how many ended. */
  sweep(app: string): Promise<Result<number>>;
  /** Rows read and written by the object's statements since it started. */
  usage(): Promise<{ rowsRead: number; rowsWritten: number }>;
  /** An empty method: the cost of a call. */
  ping(): Promise<string>;
}
