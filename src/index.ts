// edge sessions: server-side sessions for Cloudflare Workers, after repoze.session.

// Clients: factories over a Durable Object binding, a service binding or HTTP
export {
  ConnectionManager,
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
  withRetry,
} from "./client/index";

// Time
export { expiresAt, isExpired, timeslice } from "./timeslice";

// Sessions and their manager
export { KeyError, SessionData } from "./data";
export { SessionDataManager, type SessionDataManagerOptions } from "./manager";
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
} from "./settings";

// Events
export {
  type EndReason,
  eventId,
  SessionBeginEvent,
  SessionEndEvent,
  type SessionEvent,
  type SessionEventBody,
} from "./events";

// Errors, and their transport over RPC and HTTP
export {
  ConflictError,
  type ConflictReason,
  InvalidInputError,
  InvalidKeyError,
  SessionError,
  SessionTooLargeError,
  SettingsMismatchError,
} from "./errors";
export { type ErrorBody, errorBody, errorFromBody, type Result, resultOf, unwrap } from "./result";

// The RPC surface of the Durable Object and the service entrypoint
export type { AppStats, SessionManagerRpc, SessionObjectRpc } from "./protocol";

// Storage: the interface a store implements, the in-memory store, and the rules engine on top
export {
  type Changeset,
  isEmptyChangeset,
  MAX_CHANGESETS_PER_CALL,
  parseChangeset,
  parseChangesets,
} from "./changeset";
export { DEFAULT_SWEEP_BATCH, SessionEngine } from "./engine";
export { assertJsonValue, type JsonObject, type JsonValue } from "./json";
export { MemoryStore } from "./memory-store";
export type { SessionStore } from "./store";
export { type SessionSnapshot, type StoredSession, snapshotOf } from "./stored-session";
export { type SessionView, sessionView, sessionViewJson, snapshotOfView } from "./view";

// Names: apps, keys, and the Durable Object that holds a key
export { APP_NAME_PATTERN, assertAppName, assertSessionKey, SESSION_KEY_PATTERN } from "./names";
export { objectName, shardOf } from "./naming";
export { type Placement, type SessionObjectNamespace, SessionRouter } from "./router";
