import { describe, expect, it } from "vitest";
import {
  type Result,
  type SessionObjectNamespace,
  SessionRouter,
  shardOf,
  unwrap,
} from "../../src/index";

/**
 * A namespace that records what it was asked for and answers with given settings and layout
 * (`stored` false: an app never stored, whose layout answer says so).
 */
function fakeNamespace(shards = 1, placement: { locationHint?: string } = {}, stored = true) {
  const calls: {
    name: string;
    options?: { locationHint?: string };
    jurisdiction?: string;
    method?: string;
  }[] = [];
  const settings = {
    timeout: 1200,
    period: 20,
    maxSessionBytes: 131072,
    beginEvents: false,
    shards,
  };
  const make = (jurisdiction?: string): SessionObjectNamespace => ({
    getByName(name, options) {
      const call = { name, options, jurisdiction } as (typeof calls)[number];
      calls.push(call);
      const ok = <T>(method: string, value: T): Promise<Result<T>> => {
        call.method = method;
        return Promise.resolve({ ok: true, value });
      };
      return {
        open: () => ok("open", settings),
        layout: () =>
          ok("layout", {
            settings,
            layout: { epoch: 1, shards, from: null, placement },
            ...(stored ? {} : { stored: false }),
          }),
        adopt: () => ok("adopt", settings),
        has: () => ok("has", true),
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

  it("routes the keys of an app never stored to its one object, without storing the app", async () => {
    const { calls, namespace } = fakeNamespace(1, {}, false);
    const router = new SessionRouter(namespace);
    for (const key of ["a", "b"]) await router.has("shop", key);
    expect(calls.every((c) => c.name === "shop")).toBe(true);
    // Asked each time (the app may be created with other settings meanwhile); never opened.
    expect(calls.map((c) => c.method)).toEqual(["layout", "has", "layout", "has"]);
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
        return {
          layout: () =>
            ok({ settings, layout: { epoch: 1, shards: 4, from: null, placement: {} } }),
          adopt: () => ok(settings),
          has: () => ok(true),
        };
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

describe("SessionRouter.commitMany", () => {
  it("answers the changesets of an object it cannot reach with an error, and keeps the others'", async () => {
    const settings = {
      timeout: 1200,
      period: 20,
      maxSessionBytes: 131072,
      beginEvents: false,
      shards: 2,
    };
    const layout = { epoch: 1, shards: 2, from: null, placement: {} };
    const ok = <T>(value: T): Promise<Result<T>> => Promise.resolve({ ok: true, value });
    const down = "shop#1";
    const namespace: SessionObjectNamespace = {
      getByName: (name) => ({
        layout: () => ok({ settings, layout }),
        adopt: () => ok(settings),
        commitMany: (_app: string, changes: { key: string }[]) =>
          name === down
            ? Promise.reject(new Error("network down"))
            : ok(
                changes.map((c) => ({
                  ok: true,
                  value: { key: c.key, stored: false, valid: true },
                })),
              ),
      }),
    };
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const router = new SessionRouter(namespace);
    const results = unwrap(
      await router.commitMany(
        "shop",
        keys.map((key) => ({ key, sid: null, version: 0, set: { n: 1 } })),
      ),
    );
    expect(keys.some((k) => shardOf(k, 2) === 1) && keys.some((k) => shardOf(k, 2) === 0)).toBe(
      true,
    );
    keys.forEach((key, i) => {
      if (shardOf(key, 2) === 1) {
        expect(results[i]).toMatchObject({
          ok: false,
          error: { code: "unavailable", status: 503 },
        });
      } else {
        expect(results[i]).toEqual({ ok: true, value: { key, stored: false, valid: true } });
      }
    });
  });
});
