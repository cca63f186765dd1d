// Binding types for the Worker, the Durable Object and the tests that run in workerd.
// `env` from "cloudflare:workers" (and the deprecated one from "cloudflare:test") is
// typed as `Cloudflare.Env`; `exports` is typed from `Cloudflare.GlobalProps`.
declare namespace Cloudflare {
  interface Env {
    SESSION_MANAGER: DurableObjectNamespace<
      import("../../durable-object/session-manager-object").SessionManagerObject
    >;
    SESSION_EVENTS: Queue;
    /** Tests only: a session manager whose Queue fails on demand (test/workers/main.ts). */
    FLAKY_MANAGER: DurableObjectNamespace<import("./main").FlakyQueueSessionManagerObject>;
    /** Tests only: a session manager whose storage fails on demand (test/workers/main.ts). */
    FAULTY_STORAGE_MANAGER: DurableObjectNamespace<
      import("./main").FaultyStorageSessionManagerObject
    >;
    /** Tests only: a session manager with no `SESSION_EVENTS` binding (test/workers/main.ts). */
    NO_EVENTS_MANAGER: DurableObjectNamespace<import("./main").NoEventsSessionManagerObject>;
    /** Secret: `wrangler secret put SESSIONS_API_TOKEN`; `.dev.vars` locally. */
    SESSIONS_API_TOKEN: string;
    ENVIRONMENT: string;
    /** Optional: an Analytics Engine dataset for the worker's data points (worker/analytics/). */
    SESSION_METRICS?: AnalyticsEngineDataset;
    /** Tests only: a service binding to this worker's SessionService, as a user's Worker has. */
    SESSIONS: Service<import("../../worker/session-service").SessionService>;
  }
  interface GlobalProps {
    mainModule: typeof import("../../worker/index");
    durableNamespaces: "SessionManagerObject";
  }
}
