import type { AppLayout, Layout, Placement } from "./layout.js";
import type { Result } from "./result.js";
import type { AppSettings } from "./settings.js";
import type { CommitResult, SessionView, StoredSession } from "./stored-session.js";

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
  /** The app's layout: where keys are routed, and where they come from during a move. */
  layout?: Layout;
  /** Sessions this object handed off and took in (moves) since it started. */
  moved?: { out: number; in: number };
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
   * `get`, answered compactly: the `SessionView` as JSON text (`JSON.parse` gives the view), its
   * data passed on as stored, neither parsed nor serialized again on the way.
   */
  getView(app: string, key: string): Promise<Result<string>>;
  /** `query`, answered compactly: the `SessionView` as JSON text, or `null`. */
  queryView(app: string, key: string): Promise<Result<string | null>>;
  invalidate(app: string, key: string): Promise<Result<boolean>>;
  regenerate(app: string, oldKey: string, newKey: string): Promise<Result<SessionView>>;
  stats(app: string): Promise<Result<AppStats>>;
}

/**
 * What only a Durable Object stub offers beyond `SessionManagerRpc`. Session calls take the
 * caller's layout epoch last: an object that does not own the key answers `moved` with its
 * layout, and one that meets a newer epoch than its own learns it first (docs/DESIGN.md#resharding).
 */
export interface SessionObjectRpc extends SessionManagerRpc {
  get(app: string, key: string, epoch?: number): Promise<Result<SessionView>>;
  query(app: string, key: string, epoch?: number): Promise<Result<SessionView | null>>;
  has(app: string, key: string, epoch?: number): Promise<Result<boolean>>;
  commit(app: string, changes: unknown, epoch?: number): Promise<Result<CommitResult>>;
  commitMany(
    app: string,
    changes: unknown[],
    epoch?: number,
  ): Promise<Result<Result<CommitResult>[]>>;
  getView(app: string, key: string, epoch?: number): Promise<Result<string>>;
  queryView(app: string, key: string, epoch?: number): Promise<Result<string | null>>;
  /**
   * `getView` as one string, the cheapest answer to carry: the `Result` as JSON text, the view's
   * text inside it as stored (`resultOfText` reads it back without parsing the view).
   */
  getText(app: string, key: string, epoch?: number): Promise<string>;
  /** `queryView` as one string (see `getText`); the value is `null` when no session is live. */
  queryText(app: string, key: string, epoch?: number): Promise<string>;
  invalidate(app: string, key: string, epoch?: number): Promise<Result<boolean>>;
  regenerate(
    app: string,
    oldKey: string,
    newKey: string,
    epoch?: number,
  ): Promise<Result<SessionView>>;
  /**
   * A shard takes the app's settings on first use (no comparison with the home object's), and
   * `layout` when it is newer than its own.
   */
  adopt(app: string, settings: Partial<AppSettings>, layout?: Layout): Promise<Result<AppSettings>>;
  /**
   * The home object: the app's settings and layout. Stores nothing for an app never stored (the
   * answer says `stored: false`); `placement.locationHint` is stored with the app's first layout.
   */
  layout(app: string, placement?: Placement): Promise<Result<AppLayout>>;
  /**
   * A source gives its owner `to` the sessions of `keys` it holds (kept until released), after
   * forgetting the earlier hand-offs `confirmed` by the owner.
   */
  handOff(
    app: string,
    epoch: number,
    keys: string[],
    to: string,
    confirmed?: { key: string; sid: string }[],
  ): Promise<Result<StoredSession[]>>;
  /** An owner takes in sessions handed off to it; answers the keys it now holds. */
  receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>>;
  /** A source forgets the handed-off sessions its owner confirmed. */
  release(app: string, sessions: { key: string; sid: string }[]): Promise<Result<number>>;
  /** The home object: source `name` has handed off everything of the move of layout `epoch`. */
  moveDone(app: string, epoch: number, name: string): Promise<Result<Layout>>;
  /** Ends every expired session now and sends the waiting events; returns how many ended. */
  sweep(app: string): Promise<Result<number>>;
  /** Rows read and written by the object's statements since it started. */
  usage(): Promise<{ rowsRead: number; rowsWritten: number }>;
  /** An empty method: the cost of a call. */
  ping(): Promise<string>;
}
