import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type SessionEnv, sessions } from "../../src/hono/index";
import { DurableObjectSessionManagerFactory } from "../../src/index";

// The middleware's `retry` runs the handlers after it again, which Hono has no public API for
// (src/hono/rerun.ts). This file runs in three projects (vitest.config.ts): with the installed
// Hono, and with the oldest and the newest Hono the package supports (npm aliases).
declare const HONO_UNDER_TEST: string;

type Vars = { who: string };
let apps = 0;

/** An app whose handler counts in the session, behind an upstream middleware, with retry. */
function countingApp() {
  apps++;
  const factory = new DurableObjectSessionManagerFactory(
    env.SESSION_MANAGER,
    `rerun-${HONO_UNDER_TEST}-${apps}`,
  );
  const app = new Hono<SessionEnv<{ n: number; by: string }> & { Variables: Vars }>();
  const runs: string[] = [];
  let waiting: (() => void)[] = [];
  let hold = 0;
  app.use(async (c, next) => {
    c.set("who", "upstream");
    c.header("x-upstream", "kept");
    await next();
  });
  app.use(sessions({ factory, secret: "a-test-secret-that-is-long-enough-0123456789", retry: 3 }));
  app.post("/count/:name", async (c) => {
    const { by } = await c.req.json<{ by: string }>();
    const session = c.get("session");
    const n = ((await session.get("n")) ?? 0) + 1;
    const run = runs.push(`${c.req.param("name")}:${c.get("who")}:${n}`);
    // The first runs wait for each other, so both read the same n and one must conflict.
    if (hold > 0) {
      hold--;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (hold === 0) for (const go of waiting.splice(0)) go();
      });
    }
    await session.set("n", n);
    await session.set("by", by);
    c.header("x-run", String(run));
    return c.json({ n, by, name: c.req.param("name") });
  });
  app.get("/read", async (c) => c.json((await c.get("session").data()).toJSON()));
  return {
    app,
    runs,
    holdFirst(count: number) {
      hold = count;
      waiting = [];
    },
  };
}

/** A session counted once, then two requests that both read it before either commits. */
async function twoRacing() {
  const counting = countingApp();
  const { app, holdFirst } = counting;
  const first = await app.request("/count/seed", {
    method: "POST",
    body: JSON.stringify({ by: "seed" }),
  });
  const cookie = first.headers.get("set-cookie")?.split(";")[0] as string;
  holdFirst(2);
  const responses = await Promise.all(
    ["a", "b"].map((name) =>
      app.request(`/count/${name}`, {
        method: "POST",
        headers: { cookie },
        body: JSON.stringify({ by: name }),
      }),
    ),
  );
  return { ...counting, cookie, responses };
}

describe(`the middleware's retry under ${HONO_UNDER_TEST}`, () => {
  it("re-runs a conflicting handler with its route params, cached body, upstream variables and headers", async () => {
    const { app, runs, cookie, responses } = await twoRacing();
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    const answers = (await Promise.all(responses.map((r) => r.json()))) as {
      n: number;
      name: string;
    }[];
    expect(answers.map((a) => a.n).sort()).toEqual([2, 3]);
    // Three runs of the two requests: one was run again, and saw the other's change.
    expect(runs.slice(1)).toHaveLength(3);
    expect(runs.slice(1).every((run) => run.includes(":upstream:"))).toBe(true);
    const rerun = answers.find((a) => a.n === 3) as { name: string };
    expect(runs.at(-1)).toBe(`${rerun.name}:upstream:3`);
    for (const response of responses) {
      expect(response.headers.get("x-upstream")).toBe("kept");
      expect(response.headers.get("x-run")).not.toBeNull();
    }
    const read = await app.request("/read", { headers: { cookie } });
    expect(await read.json()).toEqual({ n: 3, by: rerun.name });
  });

  it("answers the re-run's response, not the first run's", async () => {
    const { runs, responses } = await twoRacing();
    // Runs 2 and 3 read the same n; the one that lost its commit ran again as run 4, and its
    // request answers run 4's response.
    expect(runs).toHaveLength(4);
    const numbers = responses.map((r) => r.headers.get("x-run"));
    expect(numbers).toContain("4");
    expect(numbers.filter((n) => n === "2" || n === "3")).toHaveLength(1);
  });
});
