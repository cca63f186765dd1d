// edge sessions: server-side sessions for Cloudflare Workers, after repoze.session.

// Storage: the interface a store implements, the in-memory store, and the rules engine on top
export { type Changeset, isEmptyChangeset, parseChangeset } from "./changeset";

// Sessions and their manager
export { KeyError, SessionData } from "./data";
export { DEFAULT_SWEEP_BATCH, SessionEngine } from "./engine";
// Errors
export {
  ConflictError,
  type ConflictReason,
  InvalidInputError,
  InvalidKeyError,
  SessionError,
  SessionTooLargeError,
  SettingsMismatchError,
} from "./errors";

// Events
export {
  type EndReason,
  eventId,
  SessionBeginEvent,
  SessionEndEvent,
  type SessionEvent,
  type SessionEventBody,
} from "./events";
export { assertJsonValue, type JsonObject, type JsonValue } from "./json";
export { SessionDataManager, type SessionDataManagerOptions } from "./manager";
export { MemoryStore } from "./memory-store";
export { APP_NAME_PATTERN, assertAppName, assertSessionKey, SESSION_KEY_PATTERN } from "./names";
export {
  DEFAULT_SETTINGS,
  MAX_SESSION_BYTES_LIMIT,
  resolveSettings,
  type SessionSettings,
} from "./settings";
export type { SessionStore } from "./store";
export { type SessionSnapshot, type StoredSession, snapshotOf } from "./stored-session";
// Time
export { expiresAt, isExpired, timeslice } from "./timeslice";
