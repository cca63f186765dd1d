import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Generous: a few tests work through thousands of rows, and CI machines are shared. Speed is
    // measured by the bench, never here.
    testTimeout: 30_000,
    // In CI, also a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".wrangler/test-results.json" },
    projects: [
      {
        // Platform-free core: plain Node, no Workers runtime.
        test: {
          name: "core",
          include: ["test/core/**/*.test.ts"],
          environment: "node",
        },
      },
      workersProject("workers", ["test/workers/**/*.test.ts"]),
      // The middleware's re-run (`retry`) uses Hono internals (src/hono/rerun.ts): its tests run
      // again against the oldest and the newest Hono the package supports.
      workersProject("hono-oldest", ["test/workers/hono-rerun.test.ts"], "hono-oldest"),
      workersProject("hono-newest", ["test/workers/hono-rerun.test.ts"], "hono-newest"),
    ],
  },
});

/**
 * Worker + Durable Object + Queue tests, run inside workerd via Miniflare; `hono` names the
 * package that stands for `hono` (an npm alias of another version), when not the installed one.
 */
function workersProject(name: string, include: string[], hono?: string) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        // The real worker plus a session manager class whose clock the tests move.
        main: "./test/workers/main.ts",
        miniflare: {
          durableObjects: {
            SESSION_MANAGER: { className: "ClockedSessionManagerObject", useSQLite: true },
            FLAKY_MANAGER: { className: "FlakyQueueSessionManagerObject", useSQLite: true },
            FAULTY_STORAGE_MANAGER: {
              className: "FaultyStorageSessionManagerObject",
              useSQLite: true,
            },
            NO_EVENTS_MANAGER: { className: "NoEventsSessionManagerObject", useSQLite: true },
          },
          bindings: { SESSIONS_API_TOKEN: "test-token", ENVIRONMENT: "test" },
          // A service binding to this very worker's SessionService entrypoint, bound as a
          // user's Worker binds it (examples/counter/wrangler.toml). The pool points bindings
          // to the worker's own name ("edge-sessions") at the worker under test.
          serviceBindings: {
            SESSIONS: { name: "edge-sessions", entrypoint: "SessionService" },
          },
          // Deliver queued messages to the consumer after 50 ms instead of
          // Miniflare's default batch timeout (about 1 s per delivery in tests).
          queueConsumers: {
            "edge-sessions-events": { maxBatchSize: 100, maxBatchTimeout: 0.05 },
          },
        },
      }),
    ],
    resolve: hono === undefined ? {} : { alias: [{ find: /^hono(?=\/|$)/, replacement: hono }] },
    define: { HONO_UNDER_TEST: JSON.stringify(hono ?? "hono") },
    test: { name, include },
  };
}
