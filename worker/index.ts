// edge sessions, the worker: the HTTP API, the RPC entrypoint for other Workers, the Durable
// Object that holds the sessions, and an example consumer of session events.
import { api } from "./app";
import { logSessionEvents } from "./queue";

// The session manager of each app (bound as SESSION_MANAGER)
export { SessionManagerObject } from "../durable-object/session-manager-object";

// RPC for other Workers: a service binding with `entrypoint = "SessionService"`
export { SessionService } from "./session-service";

export default {
  // HTTP API under /v1 (worker/app.ts)
  fetch: api.fetch,
  // Session events from the SESSION_EVENTS Queue (worker/queue.ts)
  queue: logSessionEvents,
} satisfies ExportedHandler<Cloudflare.Env>;
