// edge sessions: server-side sessions for Cloudflare Workers, after repoze.session.
//
// The public API of the package's root entry, and nothing else: the README's "What is public"
// lists it, and the consumer test (test/consumer/exports.json) fails when an export is added or
// dropped by accident. The project's own folders import the modules they need directly; what the
// Durable Objects say to each other (SessionObjectRpc, MovedError) is internal and not exported.

// Clients: factories over a Durable Object binding, a service binding or HTTP
export {
  ConnectionManager,
  DEFAULT_CALL_TIMEOUT_MS,
  DurableObjectSessionManagerFactory,
  type FactoryOptions,
  HttpSessionManagerFactory,
  type HttpTransportOptions,
  RemoteSessionManager,
  type RetryOptions,
  ServiceSessionManagerFactory,
  SessionManagerFactory,
  type TransportOptions,
  withRetry,
} from "./client/index.js";

// Sessions, and the in-process manager
export { KeyError, SessionData } from "./core/data.js";
export type { JsonObject, JsonValue } from "./core/json.js";
export { SessionDataManager, type SessionDataManagerOptions } from "./core/manager.js";
export { MemoryStore } from "./core/memory-store.js";
export type { SessionStore } from "./core/store.js";
export {
  type CommitResult,
  isStored,
  type NotStored,
  type SessionView,
} from "./core/session-view.js";
export { timeslice } from "./core/timeslice.js";

// Settings
export {
  type AppSettings,
  DEFAULT_APP_SETTINGS,
  DEFAULT_SETTINGS,
  MAX_SESSION_BYTES_LIMIT,
  MAX_SHARDS,
  type SessionSettings,
} from "./core/settings.js";

// Events
export {
  type EndReason,
  SessionBeginEvent,
  SessionEndEvent,
  type SessionEvent,
  type SessionEventBody,
} from "./core/events.js";

// Errors
export {
  ConflictError,
  type ConflictReason,
  ERROR_CODES,
  type ErrorCode,
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
} from "./core/errors.js";

// Calling the Durable Object or the service entrypoint over RPC
export type { Changeset } from "./core/changeset.js";
export type { EndSelection, UserSession, UserSessions } from "./core/users.js";
export {
  type AppDeletion,
  type AppStats,
  type ErrorBody,
  type Result,
  type SessionManagerRpc,
  unwrap,
} from "./routing/wire.js";

// An app's figures (docs/DESIGN.md#metrics)
export type {
  AppMetrics,
  Histogram,
  HistogramSummary,
  MetricCounts,
  MinuteCounts,
  ShardFigures,
} from "./core/metrics.js";
export { PROMETHEUS_TEXT, prometheusText } from "./core/prometheus.js";

// Names, shards and placement
export { APP_NAME_PATTERN, objectName, SESSION_KEY_PATTERN, shardOf } from "./core/names.js";
export type { AppLayout, Layout, Placement } from "./routing/layout.js";
export { type SessionObjectNamespace, SessionRouter } from "./routing/router.js";
