import type { Changeset } from "../changeset";
import type { AppSettings } from "../settings";
import type { SessionSnapshot } from "../stored-session";

/**
 * The session operations of one app, as a client reaches them: over a Durable Object binding, a
 * service binding (RPC) or HTTP. Each method throws the typed error of a refused operation.
 */
export interface SessionTransport {
  /** The app's stored settings; stores `settings` on first use, refuses differing ones. */
  open(settings: Partial<AppSettings>): Promise<AppSettings>;
  get(key: string): Promise<SessionSnapshot>;
  query(key: string): Promise<SessionSnapshot | null>;
  has(key: string): Promise<boolean>;
  commit(changes: Changeset): Promise<SessionSnapshot | null>;
  /**
   * Commits several changesets in one request, where the transport can (RPC: one call per
   * object, one storage transaction each). Each is atomic on its own; one outcome each, in order,
   * a refused one rejected with its typed error.
   */
  commitMany?(changes: Changeset[]): Promise<PromiseSettledResult<SessionSnapshot | null>[]>;
  invalidate(key: string): Promise<boolean>;
  regenerate(oldKey: string, newKey: string): Promise<SessionSnapshot>;
}
