import type { SessionContent } from "../core/engine.js";
import type { ShardMetrics } from "../core/metrics.js";
import type { CommitResult, SessionView, StoredSession } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import type { EndSelection, SignInBinding, UserRef, UserSession } from "../core/users.js";
import type { AppLayout, Layout, Placement } from "./layout.js";
import type { Result, SessionManagerRpc } from "./wire.js";

/**
 * The arguments of a hand-off (resharding): the app, the layout's epoch, the keys asked for, the
 * owner `to` they go to, and the earlier hand-offs that owner `confirmed` (`key` and `sid`).
 */
export type HandOffArgs = [
  app: string,
  epoch: number,
  keys: string[],
  to: string,
  confirmed?: { key: string; sid: string }[],
];

/**
 * One object's figures (`SessionObjectRpc.metrics`): `stored`, whether it holds the app; the
 * home object adds the app's layout and `peak`, the most shards the app ever had.
 */
export interface ObjectMetricsAnswer extends ShardMetrics {
  stored: boolean;
  peak?: number;
  layout?: Layout;
}

/**
 * What only a Durable Object stub offers beyond `SessionManagerRpc`. Session calls take the
 * caller's layout epoch last: an object that does not own the key answers `moved` with its
 * layout, and one that meets a newer epoch than its own learns it first (docs/DESIGN.md#resharding).
 */
export interface SessionObjectRpc
  extends Omit<
    SessionManagerRpc,
    "getViewJson" | "queryViewJson" | "signIn" | "userSessions" | "endUserSessions" | "metrics"
  > {
  /** This object's figures (the router adds up the app's: `SessionManagerRpc.metrics`). */
  metrics(app: string): Promise<Result<ObjectMetricsAnswer>>;
  get(app: string, key: string, epoch?: number): Promise<Result<SessionView>>;
  query(app: string, key: string, epoch?: number): Promise<Result<SessionView | null>>;
  has(app: string, key: string, epoch?: number): Promise<Result<boolean>>;
  commit(app: string, changes: unknown, epoch?: number): Promise<Result<CommitResult>>;
  commitMany(
    app: string,
    changes: unknown[],
    epoch?: number,
  ): Promise<Result<Result<CommitResult>[]>>;
  /**
   * `get` as one string, the cheapest answer to carry: the `Result` as JSON text, the view's
   * text inside it as stored (`resultOfText` reads it back without parsing the view). The router
   * answers it as `SessionManagerRpc.getViewJson`.
   */
  getJson(app: string, key: string, epoch?: number): Promise<string>;
  /** `query` as one string (see `getJson`); the value is `null` when no session is live. */
  queryJson(app: string, key: string, epoch?: number): Promise<string>;
  invalidate(app: string, key: string, epoch?: number): Promise<Result<boolean>>;
  regenerate(
    app: string,
    oldKey: string,
    newKey: string,
    epoch?: number,
  ): Promise<Result<SessionView>>;
  /** `SessionManagerRpc.signIn` within one object, the new key picked by the router. */
  signIn(
    app: string,
    changes: unknown,
    newKey: string,
    binding: SignInBinding,
    epoch?: number,
  ): Promise<Result<SessionView>>;
  /**
   * A sign-in whose old key lives in another object: the new session, from the old one's
   * `content` (`null`: a session never stored, so empty, created now).
   */
  bind(
    app: string,
    newKey: string,
    content: SessionContent | null,
    binding: SignInBinding,
    epoch?: number,
  ): Promise<Result<SessionView>>;
  /** A sign-in's last step across objects: `key` ends (`regenerated`) if still at `sid`, `version`. */
  retire(
    app: string,
    key: string,
    sid: string,
    version: number,
    epoch?: number,
  ): Promise<Result<boolean>>;
  /** `SessionManagerRpc.userSessions`, in the object that owns the user's tag. */
  userSessions(
    app: string,
    user: UserRef,
    own?: string,
    epoch?: number,
  ): Promise<Result<UserSession[]>>;
  /** `SessionManagerRpc.endUserSessions`, in the object that owns the user's tag. */
  endUserSessions(
    app: string,
    user: UserRef,
    which: EndSelection,
    epoch?: number,
  ): Promise<Result<number>>;
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
  handOff(...args: HandOffArgs): Promise<Result<StoredSession[]>>;
  /** An owner takes in sessions handed off to it; answers the keys it now holds. */
  receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>>;
  /** A source forgets the handed-off sessions its owner confirmed. */
  release(app: string, sessions: { key: string; sid: string }[]): Promise<Result<number>>;
  /** The home object: source `name` has handed off everything of the move of layout `epoch`. */
  moveDone(app: string, epoch: number, name: string): Promise<Result<Layout>>;
  /**
   * Ends expired sessions now, as one alarm run does (bounded), and sends the waiting events;
   * returns how many ended.
   */
  sweep(app: string): Promise<Result<number>>;
  /** Rows read and written by the object's statements since it started. */
  usage(): Promise<{ rowsRead: number; rowsWritten: number }>;
  /** An empty method: the cost of a call. */
  ping(): Promise<string>;
}
