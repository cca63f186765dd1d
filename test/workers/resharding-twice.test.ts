/**
 * Two changes of an app's shard count back to back (docs/DESIGN.md#resharding): 1 → 4, then 4 → 7
 * before the first move has ended, so that the second waits its turn and begins when the first
 * ends. ID rotations (`regenerate`, a commit's `newKey`) must keep both keys on one object; they
 * are refused with `wrong_shard` only when the new key was picked on another shard than the old
 * one, never because a layout a router or a client remembered has changed since.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { rpcTransport } from "../../src/client/rpc-transport";
import type { SessionSnapshot } from "../../src/core/session-view";
import { sessions } from "../../src/hono/index";
import {
  DurableObjectSessionManagerFactory,
  type Layout,
  objectName,
  SessionManagerFactory,
  type SessionObjectNamespace,
  SessionRouter,
  shardOf,
  unwrap,
} from "../../src/index";
import { layoutObjects, ownerOf, rotationShards } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { T0 } from "./helpers";

beforeEach(() => {
  testClock.now = T0;
});

type Namespace = DurableObjectNamespace & SessionObjectNamespace;

const SECRET = "a-test-secret-that-is-long-enough-0123456789";
/** Keys to pick new session IDs from, in order, as a client draws them. */
const CANDIDATES = Array.from({ length: 400 }, (_, i) => `candidate-${i}`);

function ns(): Namespace {
  return env.SESSION_MANAGER as Namespace;
}

async function homeLayout(app: string): Promise<Layout> {
  const home = ns().getByName(objectName(app)) as unknown as SessionObjectRpc;
  return unwrap(await home.layout(app)).layout;
}

/** Runs the alarms of the app's objects until the home object's layout is past `epoch`. */
async function endMove(app: string, epoch: number): Promise<Layout> {
  for (let round = 0; round < 40; round++) {
    const layout = await homeLayout(app);
    if (layout.epoch > epoch) return layout;
    for (const name of layoutObjects(app, layout)) {
      await runDurableObjectAlarm(ns().getByName(name));
    }
  }
  throw new Error(`the move of ${app} at epoch ${epoch} did not end`);
}

/** Configures 1 → 4, then 4 → 7 at once: the second move waits for the first. */
async function twoChanges(app: string): Promise<void> {
  const admin = new SessionRouter(ns());
  unwrap(await admin.configure(app, { shards: 4 }));
  unwrap(await admin.configure(app, { shards: 7 }));
  expect(await homeLayout(app)).toMatchObject({ epoch: 2, shards: 4, from: 1 });
}

/** A new key on `key`'s shard under `shards`, drawn as a client draws one; each key has its own. */
function near(key: string, shards: number): string {
  const found = CANDIDATES.map((k) => `${key}.${k}`).find(
    (k) => shardOf(k, shards) === shardOf(key, shards),
  );
  if (found === undefined) throw new Error(`no candidate near ${key} for ${shards} shards`);
  return found;
}

/** A Hono app with the cookie middleware over `namespace`: `/write` stores a user, `/login` rotates. */
function webApp(app: string, namespace: SessionObjectNamespace = ns()) {
  const factory = new DurableObjectSessionManagerFactory(namespace, app);
  const web = new Hono();
  web.use(sessions({ factory, secret: SECRET }));
  web.post("/write", async (c) => {
    await c.get("session").set("user", "ann");
    return c.text("ok");
  });
  web.post("/login", async (c) => {
    await c.get("session").regenerate();
    return c.text("ok");
  });
  return { factory, web };
}

/** The session ID a `set-cookie` or `cookie` value names. */
function idOf(cookie: string): string {
  return decodeURIComponent(cookie.split("=")[1] as string).split(".")[0] as string;
}

/** Signs in (rotates the ID) with `cookie`; expects 200 and the new ID on the old one's object. */
async function login(app: string, web: Hono, cookie: string, when: string): Promise<string> {
  const res = await web.request("/login", { method: "POST", headers: { cookie } });
  expect({ when, status: res.status, body: await res.text() }).toEqual({
    when,
    status: 200,
    body: "ok",
  });
  const next = res.headers.get("set-cookie")?.split(";")[0] as string;
  const layout = await homeLayout(app);
  expect(ownerOf(app, idOf(next), layout)).toBe(ownerOf(app, idOf(cookie), layout));
  return next;
}

/** The cookie of a new session holding `user: "ann"`. */
async function signUp(web: Hono): Promise<string> {
  const res = await web.request("/write", { method: "POST" });
  return res.headers.get("set-cookie")?.split(";")[0] as string;
}

describe("sign-ins while the shard count changes twice in a row", () => {
  it("the middleware's logins all succeed, before, between and after the two moves", async () => {
    const apps = Array.from({ length: 8 }, (_, i) => `twice-login-${i}`);
    for (const app of apps) {
      const { factory, web } = webApp(app);
      // This isolate's factory (and its router) learn the app with 1 shard.
      let cookie = await signUp(web);
      cookie = await login(app, web, cookie, "before any change");
      await twoChanges(app);
      cookie = await login(app, web, cookie, "during the first move, the second one waiting");
      // The first move ends and the second begins: 4 → 7 shards.
      expect(await endMove(app, 2)).toMatchObject({ epoch: 3, shards: 7, from: 4 });
      cookie = await login(app, web, cookie, "as the second move begins");
      cookie = await login(app, web, cookie, "during the second move");
      expect(await endMove(app, 3)).toMatchObject({ epoch: 4, shards: 7, from: null });
      cookie = await login(app, web, cookie, "after both moves");
      const manager = await factory.open();
      expect((await manager.get(idOf(cookie))).get("user")).toBe("ann");
    }
  }, 60_000);

  it("the middleware's login succeeds when the first move ends between its refused try and its retry", async () => {
    const apps = Array.from({ length: 8 }, (_, i) => `twice-race-${i}`);
    for (const app of apps) {
      // The first answer `wrong_shard` from an object ends the first move before it is returned:
      // the middleware's retry, with a key picked for the count named, meets the second move.
      let race: "armed" | "done" | "off" = "off";
      const racing: SessionObjectNamespace = {
        getByName(name: string) {
          const target = ns().getByName(name) as unknown as Record<
            string,
            (...a: unknown[]) => Promise<unknown>
          >;
          return new Proxy(
            {},
            {
              get:
                (_t, method: string) =>
                async (...args: unknown[]) => {
                  const answer = await target[method]?.(...args);
                  if (race === "armed" && JSON.stringify(answer).includes('"wrong_shard"')) {
                    race = "done";
                    await endMove(app, 2);
                  }
                  return answer;
                },
            },
          );
        },
      };
      const { factory, web } = webApp(app, racing);
      let cookie = await signUp(web);
      await twoChanges(app);
      race = "armed";
      // A try whose ID, picked for the factory's 1 shard, happens to fit is not refused: again.
      for (let i = 0; i < 20 && race === "armed"; i++) {
        cookie = await login(app, web, cookie, "as the first move ends");
      }
      expect(race).toBe("done");
      expect(await homeLayout(app)).toMatchObject({ epoch: 3, shards: 7, from: 4 });
      const manager = await factory.open();
      expect((await manager.get(idOf(cookie))).get("user")).toBe("ann");
    }
  }, 60_000);

  it("a router that cached the first move's layout refuses a rotation with the count now in force", async () => {
    const app = "twice-stale-router";
    const router = new SessionRouter(ns());
    const olds = ["a", "b", "c", "d", "e", "f"];
    const stored = new Map<string, SessionSnapshot>();
    for (const key of olds) {
      const snapshot = unwrap(
        await router.commit(app, { key, sid: null, version: 0, set: { key } }),
      ) as SessionSnapshot;
      stored.set(key, snapshot);
    }
    await twoChanges(app);
    // The router learns the first move's layout (4 shards) by a read, then that move ends.
    for (const key of olds) unwrap(await router.query(app, key));
    expect(await endMove(app, 2)).toMatchObject({ shards: 7, from: 4 });

    for (const key of olds) {
      // A key on another object both under 4 and under 7 shards.
      const far = CANDIDATES.find(
        (k) => shardOf(k, 4) !== shardOf(key, 4) && shardOf(k, 7) !== shardOf(key, 7),
      ) as string;
      const refused = await router.regenerate(app, key, far);
      expect(refused).toMatchObject({ ok: false, error: { code: "wrong_shard", shards: 7 } });
      const snapshot = stored.get(key) as SessionSnapshot;
      const change = { key, sid: snapshot.sid, version: snapshot.version, set: { n: 2 } };
      const commit = await router.commit(app, { ...change, newKey: far });
      expect(commit).toMatchObject({ ok: false, error: { code: "wrong_shard", shards: 7 } });
      const [many] = unwrap(await router.commitMany(app, [{ ...change, newKey: far }]));
      expect(many).toMatchObject({ ok: false, error: { code: "wrong_shard", shards: 7 } });
      // Nothing was written; a key picked with the count named moves the session.
      const newKey = near(key, 7);
      const moved = unwrap(await router.commit(app, { ...change, newKey }));
      expect(moved).toMatchObject({ key: newKey, data: { key, n: 2 } });
      expect(unwrap(await router.query(app, key))).toBeNull();
    }
  }, 30_000);

  it("a key picked with the count a refusal names during the first move still fits when the second begins", async () => {
    const app = "twice-queued-count";
    const router = new SessionRouter(ns());
    const olds = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (const key of olds) {
      unwrap(await router.commit(app, { key, sid: null, version: 0, set: { key } }));
    }
    await twoChanges(app);
    // Refused during the first move, while 7 shards wait: each client picks a key with the
    // count named, and the first move ends before its retry arrives.
    const picked = new Map<string, string>();
    for (const key of olds) {
      const far = CANDIDATES.find((k) => shardOf(k, 4) !== shardOf(key, 4)) as string;
      const refused = await router.regenerate(app, key, far);
      expect(refused).toMatchObject({ ok: false, error: { code: "wrong_shard" } });
      const shards = refused.ok ? 0 : (refused.error.shards as number);
      picked.set(key, near(key, shards));
    }
    expect(await endMove(app, 2)).toMatchObject({ shards: 7, from: 4 });
    for (const key of olds) {
      const newKey = picked.get(key) as string;
      const moved = await router.regenerate(app, key, newKey);
      expect({ key, moved }).toMatchObject({ key, moved: { ok: true, value: { key: newKey } } });
    }
  }, 30_000);
});

describe("the count a wrong_shard names", () => {
  const layout = (shards: number, from: number | null): Layout => ({
    epoch: 2,
    shards,
    from,
    placement: {},
  });

  it("is the count in force, or a multiple of it and of the count that waits", () => {
    expect(rotationShards(layout(4, null), 4)).toBe(4);
    expect(rotationShards(layout(4, 1), 4)).toBe(4);
    expect(rotationShards(layout(4, 1), 7)).toBe(28);
    expect(rotationShards(layout(16, 4), 3)).toBe(48);
    expect(rotationShards(layout(4, 16), 8)).toBe(8);
    expect(rotationShards(layout(1, 4), 3)).toBe(3);
    // Past 1,024 a client would draw too many IDs: the count in force alone.
    expect(rotationShards(layout(256, 16), 255)).toBe(256);
  });

  it("picks keys that share the old key's object under both counts", () => {
    const named = rotationShards(layout(4, 1), 7);
    for (const key of ["a", "b", "c", "d"]) {
      const picked = near(key, named);
      expect([shardOf(picked, 4), shardOf(picked, 7)]).toEqual([shardOf(key, 4), shardOf(key, 7)]);
    }
  });
});

describe("the middleware's sign-in refused twice by wrong_shard", () => {
  it("tries again with each count a refusal names, while a count is new, and signs in", async () => {
    const app = `mw-refused-twice-${Date.now()}`;
    // A transport that refuses the first two rotations as owners would while moves start between
    // a refusal and its retry: first naming 4 shards, then 7. Each refused try writes nothing.
    const refusals = [4, 7];
    const tried: { oldKey: string; newKey: string }[] = [];
    const real = new SessionRouter(ns());
    const transport = rpcTransport(
      app,
      () =>
        ({
          ...Object.fromEntries(
            ["open", "get", "query", "has", "invalidate", "regenerate", "commitMany"].map((m) => [
              m,
              (...args: unknown[]) =>
                (real as unknown as Record<string, (...a: unknown[]) => unknown>)[m]?.(...args),
            ]),
          ),
          commit: async (name: string, changes: { key: string; newKey?: string }) => {
            if (changes.newKey !== undefined) {
              tried.push({ oldKey: changes.key, newKey: changes.newKey });
              const shards = refusals.shift();
              if (shards !== undefined) {
                return {
                  ok: false,
                  error: {
                    code: "wrong_shard",
                    status: 409,
                    message: "refused by the test",
                    app: name,
                    key: changes.newKey,
                    shards,
                  },
                };
              }
            }
            return real.commit(name, changes as never);
          },
        }) as never,
    );
    const hono = new Hono();
    hono.use(sessions({ factory: new SessionManagerFactory(app, transport), secret: SECRET }));
    hono.post("/visit", async (c) => {
      await c.get("session").set("seen", true);
      return c.text("ok");
    });
    hono.post("/login", async (c) => {
      await c.get("session").regenerate();
      await c.get("session").set("user", "fred");
      return c.text("signed in");
    });
    const visit = await hono.request("/visit", { method: "POST" });
    const cookie = visit.headers.get("set-cookie")?.split(";")[0] as string;
    const login = await hono.request("/login", { method: "POST", headers: { cookie } });
    expect(login.status).toBe(200);
    expect(tried).toHaveLength(3);
    const [, second, third] = tried as [
      unknown,
      { oldKey: string; newKey: string },
      { oldKey: string; newKey: string },
    ];
    expect(shardOf(second.newKey, 4)).toBe(shardOf(second.oldKey, 4));
    expect(shardOf(third.newKey, 7)).toBe(shardOf(third.oldKey, 7));
  });
});
