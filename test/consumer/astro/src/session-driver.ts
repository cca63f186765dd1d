import { env } from "cloudflare:workers";
import { AsyncLocalStorage } from "node:async_hooks";
import { ServiceSessionManagerFactory } from "edge-sessions";
import { edgeSessionsDriver } from "edge-sessions/unstorage";

/** The request being served: src/middleware.ts runs each request in it. */
export const requestScope = new AsyncLocalStorage<object>();

export default (config: { app?: string } = {}) =>
  edgeSessionsDriver({
    factory: () => new ServiceSessionManagerFactory(env.SESSIONS, config.app ?? "astro"),
    base: "session",
    scope: () => requestScope.getStore(),
  });
