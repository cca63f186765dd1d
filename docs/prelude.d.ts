// The names that fragments in README.md and docs/*.md use without declaring them, checked by
// scripts/check-docs.mjs: what a Worker's handler has at hand. Nothing else is declared, so a
// block that uses a renamed or missing name fails the check.

/** A Worker's bindings, as `wrangler types` declares them for the docs' wrangler configs. */
interface Env {
  /** Service binding to the session worker's `SessionService` entrypoint. */
  SESSIONS: Fetcher;
  /** Durable Object binding of a Worker that hosts `SessionManagerObject` itself. */
  SESSION_MANAGER: DurableObjectNamespace;
  SESSION_SECRET: string;
}

/** The handler's bindings. */
declare const env: Env;
/** A session key, from a cookie or a request. */
declare const key: string;
/** Seconds since the epoch, from an injected clock. */
declare let now: number;
/** The HTTP API's bearer token (the session worker's secret SESSIONS_API_TOKEN). */
declare const token: string;
/** A session factory built earlier (any of the three). */
declare const factory: import("edge-sessions").SessionManagerFactory;
/** A router over the Durable Object binding. */
declare const router: import("edge-sessions").SessionRouter;

/** `env` from "cloudflare:workers": the same bindings. */
type PreludeEnv = Env;
declare namespace Cloudflare {
  interface Env extends PreludeEnv {}
}

/** What `nodejs_compat` gives a Worker (`@types/node` declares it in full). */
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
