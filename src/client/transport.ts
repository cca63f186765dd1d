import type { Changeset } from "../core/changeset.js";
import type { JsonObject } from "../core/json.js";
import type { AppMetrics } from "../core/metrics.js";
import type { SessionView } from "../core/session-view.js";
import type { AppSettings } from "../core/settings.js";
import type { EndSelection, UserSessions } from "../core/users.js";
import type { AppDeletion } from "../routing/wire.js";

/**
 * The session operations of one app (those of `SessionManagerRpc`, documented there), as a client
 * reaches them: over a Durable Object binding, a service binding (RPC) or HTTP. Each method throws
 * the typed error of a refused operation, and hands sessions out as `SessionView`s, whatever the
 * transport.
 */
export interface SessionTransport {
  open(settings: Partial<AppSettings>): Promise<AppSettings>;
  get(key: string): Promise<SessionView>;
  query(key: string): Promise<SessionView | null>;
  has(key: string): Promise<boolean>;
  /** The stored session after the commit, or `null` when none is stored. */
  commit(changes: Changeset): Promise<SessionView | null>;
  /**
   * Only where the transport sends several changesets in one request (RPC). One outcome each, in
   * order, as `commit` answers it; a refused one rejected with its typed error.
   */
  commitMany?(changes: Changeset[]): Promise<PromiseSettledResult<SessionView | null>[]>;
  invalidate(key: string): Promise<boolean>;
  regenerate(oldKey: string, newKey: string): Promise<SessionView>;
  /** The signed-in session at its new key (`SessionManagerRpc.signIn`). */
  signIn(changes: Changeset, user: string, labels?: JsonObject): Promise<SessionView>;
  userSessions(user: string, own?: string): Promise<UserSessions>;
  /** How many sessions ended. */
  endUserSessions(user: string, which: EndSelection): Promise<number>;
  /** How far deleting the app has come (`SessionManagerRpc.deleteApp`). */
  deleteApp(): Promise<AppDeletion>;
  /** The app's figures (`SessionManagerRpc.metrics`). */
  metrics(): Promise<AppMetrics>;
}
