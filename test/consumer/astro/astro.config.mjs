import cloudflare from "@astrojs/cloudflare";
import { defineConfig } from "astro/config";

export default defineConfig({
  output: "server",
  adapter: cloudflare(),
  session: {
    driver: {
      entrypoint: new URL("./src/session-driver.ts", import.meta.url),
      config: { app: "consumer-astro" },
    },
    ttl: 3600,
  },
});
