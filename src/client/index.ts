// Clients: the repoze-style factory and connection manager over every transport.
export { ConnectionManager } from "./connection-manager.js";
export {
  DurableObjectSessionManagerFactory,
  type FactoryOptions,
  HttpSessionManagerFactory,
  RemoteSessionManager,
  type RetryOptions,
  ServiceSessionManagerFactory,
  SessionManagerFactory,
  withRetry,
} from "./factory.js";
export { type HttpTransportOptions, httpTransport } from "./http-transport.js";
export { rpcTransport } from "./rpc-transport.js";
export { DEFAULT_CALL_TIMEOUT_MS, type TransportOptions } from "./service-errors.js";
export type { SessionTransport } from "./transport.js";
