import type { Changeset } from "../changeset.js";
import type { SessionView } from "../session-view.js";
import type { AppSettings } from "../settings.js";

/**
 * The session operations of one app, as a client reaches them: over a Durable Object binding, a
 * service binding (RPC) or HTTP. Each method throws the typed error of a refused operation, and
 * hands sessions out as `SessionView`s, whatever the transport.
 */
export interface SessionTransport {
  /** The app's stored settings; stores `settings` on first use, refuses differing ones. */
  open(settings: Partial<AppSettings>): Promise<AppSettings>;
  get(key: string): Promise<SessionView>;
  query(key: string): Promise<SessionView | null>;
  has(key: string): Promise<boolean>;
  /** The stored session after the commit, or `null` when none is stored. */
  commit(changes: Changeset): Promise<SessionView | null>;
  /**
   * Commits several changesets in one request, where the transport can (RPC: one call per
   * object, one storage transaction each). Each is atomic on its own; one outcome each, in order
   * (the stored session, or `null` when none is stored), a refused one rejected with its typed
   * error.
   */
  commitMany?(changes: Changeset[]): Promise<PromiseSettledResult<SessionView | null>[]>;
  invalidate(key: string): Promise<boolean>;
  regenerate(oldKey: string, newKey: string): Promise<SessionView>;
}
