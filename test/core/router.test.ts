import { describe, expect, it } from "vitest";
import { type Result, type SessionObjectNamespace, SessionRouter, shardOf } from "../../src/index";

/** A namespace that records what it was asked for and answers `open` with given settings. */
function fakeNamespace(shards = 1, placement: { locationHint?: string } = {}) {
  const calls: { name: string; options?: { locationHint?: string }; jurisdiction?: string }[] = [];
  const settings = {
    timeout: 1200,
    period: 20,
    maxSessionBytes: 131072,
    beginEvents: false,
    shards,
  };
  const make = (jurisdiction?: string): SessionObjectNamespace => ({
    getByName(name, options) {
      calls.push({ name, options, jurisdiction });
      const ok = <T>(value: T): Promise<Result<T>> => Promise.resolve({ ok: true, value });
      return {
        open: () => ok(settings),
        layout: () => ok({ settings, layout: { epoch: 1, shards, from: null, placement } }),
        adopt: () => ok(settings),
        has: () => ok(true),
      };
    },
    jurisdiction: (name) => make(name),
  });
  return { calls, namespace: make() };
}

describe("SessionRouter", () => {
  it("creates objects in the jurisdiction and near the location it is given", async () => {
    const { calls, namespace } = fakeNamespace();
    const router = new SessionRouter(namespace, { jurisdiction: "eu", locationHint: "weur" });
    await router.has("shop", "abc");
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.jurisdiction).toBe("eu");
      expect(call.options).toEqual({ locationHint: "weur" });
    }
  });

  it("learns an app's shards once, then routes each key to its shard", async () => {
    const { calls, namespace } = fakeNamespace(4);
    const router = new SessionRouter(namespace);
    for (const key of ["a", "b", "c", "a", "b", "c"]) await router.has("shop", key);
    const opens = calls.filter((c) => c.name === "shop");
    expect(opens).toHaveLength(1); // the home object, asked once
    for (const key of ["a", "b", "c"]) {
      expect(calls.some((c) => c.name === `shop#${shardOf(key, 4)}`)).toBe(true);
    }
  });

  it("creates an app's objects with the location hint stored with the app, not its own", async () => {
    const { calls, namespace } = fakeNamespace(4, { locationHint: "enam" });
    const router = new SessionRouter(namespace, { locationHint: "weur" });
    for (const key of ["a", "b", "c"]) await router.has("shop", key);
    const shards = calls.filter((c) => c.name.startsWith("shop#"));
    expect(shards.length).toBeGreaterThan(0);
    for (const call of shards) expect(call.options).toEqual({ locationHint: "enam" });
  });

  it("refuses a jurisdiction when the namespace cannot place objects", () => {
    const namespace: SessionObjectNamespace = { getByName: () => ({}) };
    expect(() => new SessionRouter(namespace, { jurisdiction: "eu" })).toThrow(/jurisdiction/);
  });
});
