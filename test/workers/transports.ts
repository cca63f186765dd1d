// The three ways a client reaches the session manager, for suites that run once over each: the
// Durable Object binding, the service binding to `SessionService`, and the HTTP API (through the
// test worker's own fetch, with the test token).
import { env, exports } from "cloudflare:workers";
import type { FactoryOptions } from "../../src/client/factory";
import {
  DurableObjectSessionManagerFactory,
  HttpSessionManagerFactory,
  ServiceSessionManagerFactory,
  type SessionManagerFactory,
} from "../../src/index";

/** One way to reach the session manager: a factory for an app over it, with the given options. */
export interface Transport {
  name: string;
  factory(app: string, options?: FactoryOptions): SessionManagerFactory;
}

export const TRANSPORTS: Transport[] = [
  {
    name: "Durable Object binding",
    factory: (app, options) =>
      new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, app, options),
  },
  {
    // A real service binding to the SessionService entrypoint (vitest.config.ts).
    name: "service binding",
    factory: (app, options) => new ServiceSessionManagerFactory(env.SESSIONS, app, options),
  },
  {
    name: "HTTP",
    factory: (app, options) =>
      new HttpSessionManagerFactory("https://sessions.test", app, {
        ...options,
        token: "test-token",
        fetch: (input, init) => exports.default.fetch(new Request(input, init)),
      }),
  },
];
