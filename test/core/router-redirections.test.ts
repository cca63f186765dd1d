/**
 * `SessionRouter` follows at most two redirections (`moved`) for one call, then answers 503
 * `unavailable` (docs/DESIGN.md#resharding): a layout that keeps changing under a call never
 * makes it loop.
 */
import { describe, expect, it } from "vitest";
import { type Result, type SessionObjectNamespace, SessionRouter } from "../../src/index";

const settings = {
  timeout: 1200,
  period: 20,
  maxSessionBytes: 131072,
  beginEvents: false,
  shards: 1,
};

/** One app of one object whose every `has` answers `moved`, each time with a newer layout. */
function alwaysMoving() {
  let epoch = 1;
  const calls: string[] = [];
  const layout = () => ({ epoch, shards: 1, from: null, placement: {} });
  const namespace: SessionObjectNamespace = {
    getByName: () => ({
      layout: () => {
        calls.push("layout");
        return Promise.resolve({ ok: true, value: { settings, layout: layout() } });
      },
      has: (): Promise<Result<boolean>> => {
        calls.push("has");
        epoch++;
        return Promise.resolve({
          ok: false,
          error: { code: "moved", status: 409, message: "moved (test)", layout: layout() },
        });
      },
    }),
  };
  return { namespace, calls };
}

describe("SessionRouter redirections", () => {
  it("follows at most two redirections, then answers 503 unavailable", async () => {
    const { namespace, calls } = alwaysMoving();
    const router = new SessionRouter(namespace);
    const answer = await router.has("shop", "k");
    expect(answer).toMatchObject({ ok: false, error: { code: "unavailable", status: 503 } });
    // The call itself, then once per redirection followed: three calls in all.
    expect(calls.filter((c) => c === "has")).toHaveLength(3);
  });
});
