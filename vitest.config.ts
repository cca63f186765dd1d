import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Platform-free core: plain Node, no Workers runtime.
        test: {
          name: "core",
          include: ["test/core/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        // Worker + Durable Object + Queue, run inside workerd via Miniflare.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { SESSIONS_API_TOKEN: "test-token", ENVIRONMENT: "test" },
              // Deliver queued messages to the consumer quickly in tests
              // (production default max_batch_timeout is 5s).
              queueConsumers: {
                "edge-sessions-events": { maxBatchSize: 100, maxBatchTimeout: 0.05 },
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
        },
      },
    ],
  },
});
