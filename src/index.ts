// edge sessions: server-side sessions for Cloudflare Workers, after repoze.session.

// Clients: factories over a Durable Object binding, a service binding or HTTP
export {
  ConnectionManager,
  DEFAULT_CALL_TIMEOUT_MS,
  DurableObjectSessionManagerFactory,
  type FactoryOptions,
  HttpSessionManagerFactory,
  type HttpTransportOptions,
  httpTransport,
  RemoteSessionManager,
  type RetryOptions,
  rpcTransport,
  ServiceSessionManagerFactory,
  SessionManagerFactory,
  type SessionTransport,
  type TransportOptions,
  withRetry,
} from "./client/index.js";

// Time
export { expiresAt, isExpired, sliceEnd, timeslice } from "./timeslice.js";

// Sessions and their manager
export { KeyError, SessionData } from "./data.js";
export { SessionDataManager, type SessionDataManagerOptions } from "./manager.js";
export {
  type AppSettings,
  DEFAULT_APP_SETTINGS,
  DEFAULT_SETTINGS,
  differingSetting,
  MAX_SESSION_BYTES_LIMIT,
  MAX_SHARDS,
  parseAppSettings,
  resolveAppSettings,
  resolveSettings,
  type SessionSettings,
} from "./settings.js";

// Events
export {
  type EndReason,
  eventId,
  SessionBeginEvent,
  SessionEndEvent,
  type SessionEvent,
  type SessionEventBody,
} from "./events.js";

// Errors, and their transport over RPC and HTTP
export {
  ConflictError,
  type ConflictReason,
  InvalidInputError,
  InvalidKeyError,
  type ServiceErrorOptions,
  SessionError,
  SessionOverloadedError,
  SessionTimeoutError,
  SessionTooLargeError,
  SessionUnavailableError,
  SettingsMismatchError,
  WrongShardError,
} from "./errors.js";
export {
  type ErrorBody,
  errorBody,
  errorFromBody,
  type Result,
  resultOf,
  unwrap,
} from "./result.js";

// The RPC surface of the Durable Object and the service entrypoint
export type { AppStats, SessionManagerRpc, SessionObjectRpc } from "./protocol.js";

// Storage: the interface a store implements, the in-memory store, and the rules engine on top
export {
  type Changeset,
  isEmptyChangeset,
  MAX_CHANGESETS_PER_CALL,
  parseChangeset,
  parseChangesets,
} from "./changeset.js";
export { DEFAULT_SWEEP_BATCH, SessionEngine } from "./engine.js";
export { assertJsonValue, type JsonObject, type JsonValue } from "./json.js";
export { MemoryStore } from "./memory-store.js";
export type { SessionStore } from "./store.js";
export {
  type CommitResult,
  commitResult,
  isStored,
  type NotStored,
  type SessionSnapshot,
  type SessionView,
  type StoredSession,
  sessionView,
  snapshotOf,
} from "./stored-session.js";
export { sessionViewJson, snapshotOfView } from "./view.js";

// Names: apps, keys, and the Durable Object that holds a key
export { APP_NAME_PATTERN, assertAppName, assertSessionKey, SESSION_KEY_PATTERN } from "./names.js";
export { objectName, shardOf } from "./naming.js";
export { type Placement, type SessionObjectNamespace, SessionRouter } from "./router.js";
