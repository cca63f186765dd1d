import { describe, expect, it } from "vitest";
import { type Result, type SessionObjectNamespace, SessionRouter, shardOf } from "../../src/index";

/** A namespace that records what it was asked for and answers `open` with given settings. */
function fakeNamespace(shards = 1) {
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

  it("refuses a jurisdiction when the namespace cannot place objects", () => {
    const namespace: SessionObjectNamespace = { getByName: () => ({}) };
    expect(() => new SessionRouter(namespace, { jurisdiction: "eu" })).toThrow(/jurisdiction/);
  });
});

describe("SessionRouter ids", () => {
  it("derives each object's id once per router, and makes a stub from it for every call", async () => {
    const derived: string[] = [];
    let stubs = 0;
    const settings = {
      timeout: 1200,
      period: 20,
      maxSessionBytes: 131072,
      beginEvents: false,
      shards: 4,
    };
    const ok = <T>(value: T): Promise<Result<T>> => Promise.resolve({ ok: true, value });
    const namespace: SessionObjectNamespace = {
      getByName: () => {
        throw new Error("getByName is not used when the namespace has idFromName and get");
      },
      idFromName: (name) => {
        derived.push(name);
        return { name };
      },
      get: () => {
        stubs++;
        return { open: () => ok(settings), adopt: () => ok(settings), has: () => ok(true) };
      },
    };
    const router = new SessionRouter(namespace);
    const keys = ["a", "b", "c", "d", "e", "f"];
    for (let round = 0; round < 3; round++) for (const key of keys) await router.has("shop", key);
    expect(derived.sort()).toEqual(
      [...new Set(["shop", ...keys.map((k) => `shop#${shardOf(k, 4)}`)])].sort(),
    );
    expect(stubs).toBeGreaterThanOrEqual(3 * keys.length);
  });
});
