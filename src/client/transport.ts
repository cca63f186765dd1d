import type { Changeset } from "../changeset.js";
import type { AppSettings } from "../settings.js";
import type { SessionSnapshot } from "../stored-session.js";

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
  invalidate(key: string): Promise<boolean>;
  regenerate(oldKey: string, newKey: string): Promise<SessionSnapshot>;
}
