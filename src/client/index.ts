// Clients: the repoze-style factory and connection manager over every transport.
export {
  ConnectionManager,
  DurableObjectSessionManagerFactory,
  type FactoryOptions,
  HttpSessionManagerFactory,
  RemoteSessionManager,
  type RetryOptions,
  ServiceSessionManagerFactory,
  SessionManagerFactory,
  withRetry,
} from "./factory";
export { type HttpTransportOptions, httpTransport } from "./http-transport";
export { rpcTransport } from "./rpc-transport";
export { DEFAULT_CALL_TIMEOUT_MS, type TransportOptions } from "./service-errors";
export type { SessionTransport } from "./transport";
