/**
 * Changing a live app's shard count (docs/DESIGN.md#resharding): every session stays reachable and
 * correct while it moves, a move is neither an end nor a begin, commits during a move are never
 * lost and conflict exactly as without one, clients follow redirections, and the shard count goes
 * up and down any time.
 */
import {
  abortAllDurableObjects,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import type { SessionSnapshot } from "../../src/core/session-view";
import { sessions } from "../../src/hono/index";
import {
  type CommitResult,
  DurableObjectSessionManagerFactory,
  isStored,
  type Layout,
  objectName,
  type Result,
  ServiceSessionManagerFactory,
  type SessionObjectNamespace,
  SessionRouter,
  unwrap,
  withRetry,
} from "../../src/index";
import { layoutObjects, objectsOf, ownerOf, sourceOf } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { eventsOf, repeatsOf } from "./deliveries";
import { call, settleEvents, T0 } from "./helpers";
import { flakyQueue, resetFlakyQueue } from "./main";

beforeEach(() => {
  testClock.now = T0;
  resetFlakyQueue();
});

type Namespace = DurableObjectNamespace & SessionObjectNamespace;

const KEYS = Array.from({ length: 60 }, (_, i) => `user-${i}`);

function stub(ns: Namespace, name: string): SessionObjectRpc & DurableObjectStub {
  return ns.getByName(name) as unknown as SessionObjectRpc & DurableObjectStub;
}

/** Stores each key with `{ key, n: 1 }` through `router`; the stored snapshots by key. */
async function seed(router: SessionRouter, app: string, keys = KEYS) {
  const stored = new Map<string, SessionSnapshot>();
  for (const key of keys) {
    const snapshot = unwrap(
      await router.commit(app, { key, sid: null, version: 0, set: { key, n: 1 } }),
    ) as SessionSnapshot;
    stored.set(key, snapshot);
  }
  return stored;
}

async function homeLayout(ns: Namespace, app: string): Promise<Layout> {
  return unwrap(await stub(ns, objectName(app)).layout(app)).layout;
}

/** Runs the alarms of every object of the app until the move has ended (bounded). */
async function drain(ns: Namespace, app: string): Promise<Layout> {
  for (let round = 0; round < 40; round++) {
    const layout = await homeLayout(ns, app);
    if (layout.from === null && round > 0) return layout;
    for (const name of layoutObjects(app, layout)) await runDurableObjectAlarm(stub(ns, name));
  }
  throw new Error(`the move of ${app} did not end`);
}

/** What an object holds: keys in `sessions`, in `move_out`, in `move_in`. */
async function tables(ns: Namespace, name: string) {
  return runInDurableObject(stub(ns, name), (_instance, state) => {
    const keys = (table: string) =>
      state.storage.sql
        .exec<{ key: string }>(`SELECT key FROM ${table} ORDER BY key`)
        .toArray()
        .map((r) => r.key);
    return { sessions: keys("sessions"), moveOut: keys("move_out"), moveIn: keys("move_in") };
  });
}

/** Every object (of `shardCounts`) that has `key` in its `sessions` table. */
async function holders(ns: Namespace, app: string, shardCounts: number[]) {
  const names = [...new Set(shardCounts.flatMap((n) => objectsOf(app, n)))];
  const byKey = new Map<string, string[]>();
  for (const name of names) {
    for (const key of (await tables(ns, name)).sessions) {
      byKey.set(key, [...(byKey.get(key) ?? []), name]);
    }
  }
  return byKey;
}

/** Ids of the events the flaky objects' hooks saw, by type. */
function hookedIds(type: "begin" | "end"): string[] {
  return flakyQueue.hooked.filter((e) => e.type === type).map((e) => e.id);
}

describe("changing an app's shard count", () => {
  it("grows an app from 1 to 4 shards: every session keeps its sid, version and data, and no event fires", async () => {
    const ns = env.FLAKY_MANAGER as Namespace;
    const app = "grow-1-4";
    const router = new SessionRouter(ns);
    unwrap(await router.open(app, { beginEvents: true }));
    const stored = await seed(router, app);
    const begins = hookedIds("begin").length;
    expect(begins).toBe(KEYS.length);

    const settings = unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
    expect(settings.shards).toBe(4);
    // Read through the router that still caches the 1-shard layout: it follows redirections.
    for (const key of KEYS) {
      expect(unwrap(await router.query(app, key))).toEqual(stored.get(key));
    }
    const layout = await drain(ns, app);
    expect(layout).toMatchObject({ epoch: 3, shards: 4, from: null });

    // Each session is in exactly one object: its owner. The home object keeps none.
    const byKey = await holders(ns, app, [1, 4]);
    for (const key of KEYS) expect(byKey.get(key)).toEqual([ownerOf(app, key, layout)]);
    expect((await tables(ns, app)).sessions).toEqual([]);
    for (const name of objectsOf(app, 4)) expect((await tables(ns, name)).moveOut).toEqual([]);
    // Moving is neither a begin nor an end.
    expect(hookedIds("begin")).toHaveLength(begins);
    expect(hookedIds("end")).toHaveLength(0);
    const stats = unwrap(await new SessionRouter(ns).stats(app));
    expect(stats.sessions).toBe(KEYS.length);
    expect(stats.moved).toEqual({ out: KEYS.length, in: KEYS.length });
  }, 30_000);

  it("moves a session on its first access, before the background drain reaches it", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "first-access";
    const router = new SessionRouter(ns);
    const stored = await seed(router, app, ["a", "b", "c"]);
    unwrap(await router.configure(app, { shards: 4 }));
    const layout = await homeLayout(ns, app);
    expect(layout).toMatchObject({ shards: 4, from: 1 });

    expect(unwrap(await router.get(app, "a"))).toEqual(stored.get("a"));
    const owner = ownerOf(app, "a", layout);
    expect((await tables(ns, owner)).sessions).toContain("a");
    const home = await tables(ns, app);
    expect(home.sessions).not.toContain("a");
    // The others have not moved yet: nobody asked for them, and no alarm ran.
    expect(home.sessions).toEqual(["b", "c"]);
    // The home object answers a key it no longer owns with the layout (a redirection).
    const moved = await stub(ns, app).query(app, "b", 1);
    expect(moved).toMatchObject({ ok: false, error: { code: "moved", status: 421, layout } });
  });

  it("goes 1 → 4 → 16 → 3 → 1 and every session stays where it belongs, with its data", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "up-and-down";
    const router = new SessionRouter(ns);
    const stored = await seed(router, app);
    for (const shards of [4, 16, 3, 1]) {
      unwrap(await router.configure(app, { shards }));
      // Half the keys are read during the move (moved on first access), the rest by the drain.
      for (const key of KEYS.slice(0, 30)) {
        expect(unwrap(await router.query(app, key))).toEqual(stored.get(key));
      }
      const layout = await drain(ns, app);
      expect(layout).toMatchObject({ shards, from: null });
      const byKey = await holders(ns, app, [1, 4, 16, 3]);
      for (const key of KEYS) expect(byKey.get(key)).toEqual([ownerOf(app, key, layout)]);
    }
    for (const key of KEYS) expect(unwrap(await router.query(app, key))).toEqual(stored.get(key));
  }, 30_000);

  it("takes a new count during a move as the next move's target", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "queued-move";
    const router = new SessionRouter(ns);
    await seed(router, app, KEYS.slice(0, 20));
    unwrap(await router.configure(app, { shards: 4 }));
    unwrap(await router.configure(app, { shards: 8 }));
    expect(await homeLayout(ns, app)).toMatchObject({ epoch: 2, shards: 4, from: 1 });
    expect(unwrap(await router.stats(app)).settings.shards).toBe(8);
    const layout = await drain(ns, app);
    expect(layout).toMatchObject({ shards: 8, from: null });
    const byKey = await holders(ns, app, [1, 4, 8]);
    for (const key of KEYS.slice(0, 20))
      expect(byKey.get(key)).toEqual([ownerOf(app, key, layout)]);
  });

  it("applies, merges and refuses commits during a move exactly as without one", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    /** The same three commits from one snapshot: a change, a merge, a conflict. */
    const scenario = async (app: string, reshard: boolean) => {
      const router = new SessionRouter(ns);
      const first = unwrap(
        await router.commit(app, { key: "k", sid: null, version: 0, set: { a: 1, b: 1 } }),
      ) as SessionSnapshot;
      if (reshard) unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
      const base = { key: "k", sid: first.sid, version: first.version };
      const results: Result<CommitResult>[] = [];
      results.push(await router.commit(app, { ...base, set: { a: 2 } }));
      results.push(await router.commit(app, { ...base, set: { b: 2 } }));
      results.push(await router.commit(app, { ...base, set: { a: 3 } }));
      const final = unwrap(await router.query(app, "k"));
      const outcomes: Record<string, unknown>[] = results.map((r) => {
        if (!r.ok) return { code: r.error.code, keys: r.error.keys };
        return isStored(r.value) ? { version: r.value.version, data: r.value.data } : {};
      });
      return outcomes.concat([{ version: final?.version, data: final?.data }]);
    };
    const without = await scenario("commits-still", false);
    const during = await scenario("commits-moving", true);
    expect(during).toEqual(without);
    expect(without).toEqual([
      { version: 2, data: { a: 2, b: 1 } },
      { version: 3, data: { a: 2, b: 2 } },
      { code: "conflict", keys: ["a"] },
      { version: 3, data: { a: 2, b: 2 } },
    ]);
  });

  it("costs one call per operation once the layout is known, and one redirection after a change", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "calls";
    const calls: string[] = [];
    const counting: SessionObjectNamespace = {
      getByName(name: string) {
        const target = ns.getByName(name) as unknown as Record<
          string,
          (...a: unknown[]) => unknown
        >;
        return new Proxy(
          {},
          {
            get(_t, method: string) {
              return (...args: unknown[]) => {
                calls.push(`${method} ${name}`);
                return target[method]?.(...args);
              };
            },
          },
        );
      },
    };
    const router = new SessionRouter(counting);
    await seed(router, app, ["a", "b"]);
    calls.length = 0;
    for (let i = 0; i < 5; i++) unwrap(await router.get(app, "a"));
    expect(calls).toEqual(Array.from({ length: 5 }, () => `get ${app}`));

    unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
    const layout = await homeLayout(ns, app);
    const owner = ownerOf(app, "a", layout);
    calls.length = 0;
    unwrap(await router.get(app, "a"));
    // The old object redirects; the router introduces the app to the owner and retries there.
    expect(calls).toEqual([`get ${app}`, `adopt ${owner}`, `get ${owner}`]);
    calls.length = 0;
    for (let i = 0; i < 5; i++) unwrap(await router.get(app, "a"));
    expect(calls).toEqual(Array.from({ length: 5 }, () => `get ${owner}`));
  });

  it("answers a key that never existed as absent during a move, and creates it at its owner", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "absent-during-move";
    const router = new SessionRouter(ns);
    await seed(router, app, ["a"]);
    unwrap(await router.configure(app, { shards: 4 }));
    expect(unwrap(await router.query(app, "new-key"))).toBeNull();
    const created = unwrap(
      await router.commit(app, { key: "new-key", sid: null, version: 0, set: { n: 1 } }),
    );
    expect(isStored(created) && created.version).toBe(1);
    const layout = await homeLayout(ns, app);
    expect((await tables(ns, ownerOf(app, "new-key", layout))).sessions).toContain("new-key");
    // A regenerate to a key on another shard is refused with the shard count in force.
    const other = ["x1", "x2", "x3", "x4", "x5", "x6"].find(
      (k) => ownerOf(app, k, layout) !== ownerOf(app, "new-key", layout),
    ) as string;
    const refused = await router.regenerate(app, "new-key", other);
    expect(refused).toMatchObject({ ok: false, error: { code: "wrong_shard", shards: 4 } });
  });
});

describe("group commit and commitMany across a move", () => {
  it("commitMany through a router with the old layout: redirected, pulled, each committed once", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "many-moving";
    const keys = KEYS.slice(0, 20);
    const router = new SessionRouter(ns);
    const stored = await seed(router, app, keys); // this router keeps the 1-shard layout
    unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
    const changes = keys.map((key) => {
      const s = stored.get(key) as SessionSnapshot;
      return { key, sid: s.sid, version: s.version, set: { n: 2 } };
    });
    // The last one competes with the first on the same base: it conflicts alone.
    const first = stored.get(keys[0] as string) as SessionSnapshot;
    changes.push({ key: first.key, sid: first.sid, version: first.version, set: { n: 3 } });
    const results = unwrap(await router.commitMany(app, changes));
    expect(results.slice(0, keys.length).every((r) => r.ok)).toBe(true);
    expect(results.at(-1)).toMatchObject({ ok: false, error: { code: "conflict", keys: ["n"] } });
    for (const [i, key] of keys.entries()) {
      expect(results[i]).toMatchObject({
        ok: true,
        value: { key, version: 2, data: { key, n: 2 } },
      });
    }
    const layout = await drain(ns, app);
    const byKey = await holders(ns, app, [1, 4]);
    for (const key of keys) {
      expect(byKey.get(key)).toEqual([ownerOf(app, key, layout)]);
      expect(unwrap(await router.query(app, key))).toMatchObject({ version: 2, data: { n: 2 } });
    }
  });

  it("commits that wait together at an owner during a move pull their sessions first", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "group-moving";
    const keys = KEYS.slice(0, 24);
    const stored = await seed(new SessionRouter(ns), app, keys);
    unwrap(await new SessionRouter(ns).configure(app, { shards: 2 }));
    const layout = await homeLayout(ns, app);
    const owner = ownerOf(app, keys[0] as string, layout);
    const mine = keys.filter((key) => ownerOf(app, key, layout) === owner);
    expect(mine.length).toBeGreaterThan(2);
    // Inside the owner, in one turn: the first commit starts a write, the others wait for it
    // and are applied together; each session still sits at the source, so each is pulled first.
    const answers = await runInDurableObject(stub(ns, owner), async (instance) => {
      const object = instance as unknown as SessionObjectRpc;
      return Promise.all(
        mine.map((key) => {
          const s = stored.get(key) as SessionSnapshot;
          return object.commit(
            app,
            { key, sid: s.sid, version: s.version, set: { n: 5 } },
            layout.epoch,
          );
        }),
      );
    });
    for (const [i, key] of mine.entries()) {
      expect(answers[i]).toMatchObject({ ok: true, value: { key, version: 2, data: { n: 5 } } });
    }
    expect((await tables(ns, owner)).sessions).toEqual(expect.arrayContaining(mine));
    for (const key of mine) expect((await tables(ns, app)).sessions).not.toContain(key);
  });

  it("a pull that fails answers those changesets and reads with an error, not an exception", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "pull-fails";
    const keys = KEYS.slice(0, 12);
    const stored = await seed(new SessionRouter(ns), app, keys);
    unwrap(await new SessionRouter(ns).configure(app, { shards: 2 }));
    const layout = await homeLayout(ns, app);
    const owner = ownerOf(app, keys[0] as string, layout);
    const mine = keys.filter((key) => ownerOf(app, key, layout) === owner);
    expect(mine.length).toBeGreaterThan(0);
    const answers = await runInDurableObject(stub(ns, owner), async (instance) => {
      const object = instance as unknown as SessionObjectRpc & {
        sessionObjects(): SessionObjectNamespace;
      };
      unwrap(await object.adopt(app, { shards: 2 }, layout));
      // The source cannot be reached: every hand-off call fails.
      object.sessionObjects = () => ({
        getByName: () => ({ handOff: () => Promise.reject(new Error("source unreachable")) }),
      });
      const changes = mine.map((key) => {
        const s = stored.get(key) as SessionSnapshot;
        return { key, sid: s.sid, version: s.version, set: { n: 7 } };
      });
      return {
        many: await object.commitMany(app, changes, layout.epoch),
        read: await object.get(app, mine[0] as string, layout.epoch),
      };
    });
    const results = unwrap(answers.many);
    expect(results).toHaveLength(mine.length);
    for (const r of results) {
      expect(r).toMatchObject({ ok: false, error: { code: "unavailable", status: 503 } });
    }
    expect(answers.read).toMatchObject({ ok: false, error: { code: "unavailable" } });
    // Nothing was committed: the sessions are still at the source, as they were.
    for (const key of mine) expect((await tables(ns, app)).sessions).toContain(key);
  });

  it("an object asked to commit keys it no longer owns answers moved for each, writing nothing", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "many-source";
    const keys = KEYS.slice(0, 6);
    const stored = await seed(new SessionRouter(ns), app, keys);
    unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
    const layout = await homeLayout(ns, app);
    const before = await runInDurableObject(stub(ns, app), (i) =>
      (i as unknown as { usage(): { rowsWritten: number } }).usage(),
    );
    const changes = keys.map((key) => {
      const s = stored.get(key) as SessionSnapshot;
      return { key, sid: s.sid, version: s.version, set: { n: 9 } };
    });
    const results = unwrap(await stub(ns, app).commitMany(app, changes, layout.epoch));
    expect(results).toHaveLength(keys.length);
    for (const r of results) {
      expect(r).toMatchObject({ ok: false, error: { code: "moved", status: 421, layout } });
    }
    const after = await runInDurableObject(stub(ns, app), (i) =>
      (i as unknown as { usage(): { rowsWritten: number } }).usage(),
    );
    expect(after.rowsWritten).toBe(before.rowsWritten);
  });
});

describe("crashes and evictions during a move", () => {
  /** An app of `keys` at 1 shard, told to go to 4; its layout, and each key's owner. */
  async function moving(app: string, keys = KEYS.slice(0, 10)) {
    const ns = env.SESSION_MANAGER as Namespace;
    const router = new SessionRouter(ns);
    const stored = await seed(router, app, keys);
    unwrap(await router.configure(app, { shards: 4 }));
    const layout = await homeLayout(ns, app);
    return { ns, router, stored, layout };
  }

  it("a hand-off whose answer never arrived is handed off again on the next pull", async () => {
    const { ns, router, stored, layout } = await moving("lost-answer");
    const owner = ownerOf("lost-answer", "user-1", layout);
    // The source hands the session off (step 1) but the owner never stores it.
    const given = unwrap(
      await stub(ns, "lost-answer").handOff("lost-answer", layout.epoch, ["user-1"], owner),
    );
    expect(given.map((s) => s.sid)).toEqual([stored.get("user-1")?.sid]);
    const source = await tables(ns, "lost-answer");
    expect(source.sessions).not.toContain("user-1");
    expect(source.moveOut).toEqual(["user-1"]);
    expect((await tables(ns, owner)).sessions).not.toContain("user-1");
    // The next access pulls it again, from move_out: same session, nothing lost.
    expect(unwrap(await router.query("lost-answer", "user-1"))).toEqual(stored.get("user-1"));
    expect((await tables(ns, owner)).sessions).toContain("user-1");
    await drain(ns, "lost-answer");
    expect((await tables(ns, "lost-answer")).moveOut).toEqual([]);
  });

  it("a copy sent again after the owner stored it is confirmed from its ledger and never overwrites a newer version", async () => {
    const { ns, router, stored, layout } = await moving("resent");
    const owner = ownerOf("resent", "user-2", layout);
    const given = unwrap(
      await stub(ns, "resent").handOff("resent", layout.epoch, ["user-2"], owner),
    );
    // The owner stores it (step 3), but its confirmation is lost (no release).
    expect(unwrap(await stub(ns, owner).receive("resent", layout.epoch, given))).toEqual([
      "user-2",
    ]);
    const first = stored.get("user-2") as SessionSnapshot;
    const changed = unwrap(
      await router.commit("resent", {
        key: "user-2",
        sid: first.sid,
        version: first.version,
        set: { n: 2 },
      }),
    );
    expect(isStored(changed) && changed.version).toBe(2);
    // The source's drain sends its copy (version 1) again: confirmed, not written.
    await drain(ns, "resent");
    expect(unwrap(await router.query("resent", "user-2"))).toMatchObject({
      version: 2,
      data: { key: "user-2", n: 2 },
    });
    expect((await tables(ns, "resent")).moveOut).toEqual([]);
  });

  it("a session that ended at its owner is not brought back by a late copy", async () => {
    const { ns, router, layout } = await moving("no-resurrection");
    const owner = ownerOf("no-resurrection", "user-3", layout);
    const given = unwrap(
      await stub(ns, "no-resurrection").handOff("no-resurrection", layout.epoch, ["user-3"], owner),
    );
    unwrap(await stub(ns, owner).receive("no-resurrection", layout.epoch, given));
    expect(unwrap(await router.invalidate("no-resurrection", "user-3"))).toBe(true);
    // A pull and the drain both meet the copy still in move_out: neither stores it again.
    expect(unwrap(await router.query("no-resurrection", "user-3"))).toBeNull();
    await drain(ns, "no-resurrection");
    expect(unwrap(await router.query("no-resurrection", "user-3"))).toBeNull();
    expect((await tables(ns, owner)).sessions).not.toContain("user-3");
  });

  it("evictions of every object between alarm runs leave every session in exactly one place", async () => {
    const ns = env.SESSION_MANAGER as Namespace;
    const app = "evicted-drain";
    // More sessions than one alarm run of the drain hands off, stored in process.
    const keys = Array.from({ length: 5600 }, (_, i) => `e${i}`);
    await runInDurableObject(env.SESSION_MANAGER.getByName(app), async (instance) => {
      for (const key of keys) {
        const stored = await instance.commit(app, { key, sid: null, version: 0, set: { key } });
        if (!stored.ok) throw new Error(stored.error.message);
      }
    });
    const router = new SessionRouter(ns);
    unwrap(await router.configure(app, { shards: 4 }));
    const layout = await homeLayout(ns, app);
    const names = layoutObjects(app, layout);
    let runs = 0;
    for (; runs < 20; runs++) {
      if ((await homeLayout(ns, app)).from === null) break;
      for (const name of names) await runDurableObjectAlarm(stub(ns, name));
      for (const name of names) await evictPatiently(stub(ns, name));
      // Never two live copies, at any point.
      const byKey = await holders(ns, app, [1, 4]);
      expect([...byKey.values()].filter((h) => h.length > 1)).toEqual([]);
      expect(byKey.size).toBe(keys.length);
    }
    expect(runs).toBeGreaterThan(1);
    const final = await homeLayout(ns, app);
    expect(final.from).toBeNull();
    const byKey = await holders(ns, app, [1, 4]);
    for (const key of keys) expect(byKey.get(key)).toEqual([ownerOf(app, key, final)]);
    for (const key of keys.slice(0, 20)) {
      expect(unwrap(await router.query(app, key))?.data).toEqual({ key });
    }
  }, 60_000);

  it("an abort of every object in the middle of commits and the drain loses no acknowledged commit", async () => {
    const app = "aborted-move";
    const ns = env.SESSION_MANAGER as Namespace;
    // Enough sessions that one alarm run cannot drain them all (it drains for about 200 ms).
    const keys = Array.from({ length: 3000 }, (_, i) => `c${i}`);
    const stored = new Map<string, SessionSnapshot>();
    for (let i = 0; i < keys.length; i += 100) {
      const changes = keys
        .slice(i, i + 100)
        .map((key) => ({ key, sid: null, version: 0, set: { key, n: 1 } }));
      for (const result of unwrap(await stub(ns, app).commitMany(app, changes))) {
        const session = unwrap(result) as SessionSnapshot;
        stored.set(session.key, session);
      }
    }
    expect(stored.size).toBe(keys.length);
    unwrap(await new SessionRouter(ns).configure(app, { shards: 4 }));
    const layout = await homeLayout(ns, app);
    const router = new SessionRouter(ns);
    const work = keys.slice(0, 60).map(async (key) => {
      const before = stored.get(key) as SessionSnapshot;
      try {
        const result = await router.commit(app, {
          key,
          sid: before.sid,
          version: before.version,
          set: { n: 2 },
        });
        return { key, ok: result.ok };
      } catch {
        return { key, ok: false };
      }
    });
    const alarms = layoutObjects(app, layout).map((name) =>
      runDurableObjectAlarm(stub(ns, name)).catch(() => false),
    );
    await Promise.race(work);
    await abortAllDurableObjects();
    const outcomes = await Promise.all(work);
    await Promise.all(alarms);

    // The abort landed where the name says: some commits were answered and some never were, and
    // the drain had begun (the owners hold more than the commits pulled) but not ended.
    const acknowledged = outcomes.filter((o) => o.ok).length;
    expect(acknowledged).toBeGreaterThan(0);
    expect(acknowledged).toBeLessThan(outcomes.length);
    const at = await holders(ns, app, [1, 4]);
    const atOwners = [...at.values()].filter((names) => !names.includes(app)).length;
    expect(atOwners).toBeGreaterThan(outcomes.length);
    expect((await tables(ns, app)).sessions.length).toBeGreaterThan(0);
    expect((await homeLayout(ns, app)).from).toBe(1);

    const after = new SessionRouter(ns);
    expect(outcomes).toHaveLength(60);
    for (const { key, ok } of outcomes) {
      const now = unwrap(await after.query(app, key));
      expect(now?.sid).toBe(stored.get(key)?.sid);
      // An acknowledged commit is there; an unacknowledged one either is or is not.
      if (ok) expect(now?.data).toEqual({ key, n: 2 });
      else expect([1, 2]).toContain(now?.data.n);
    }
    const final = await drain(ns, app);
    const byKey = await holders(ns, app, [1, 4]);
    expect(byKey.size).toBe(keys.length);
    for (const key of keys) expect(byKey.get(key)).toEqual([ownerOf(app, key, final)]);
  }, 30_000);
});

describe("events across moves", () => {
  it("every stored session has exactly one begin and one end, though it moved twice", async () => {
    const ns = env.FLAKY_MANAGER as Namespace;
    const app = "events-moves";
    const router = new SessionRouter(ns);
    unwrap(await router.open(app, { beginEvents: true, timeout: 60, period: 20 }));
    await seed(router, app, KEYS.slice(0, 30));
    unwrap(await router.configure(app, { shards: 4 }));
    await drain(ns, app);
    // A few end at the owner, after the move.
    for (const key of KEYS.slice(0, 5)) unwrap(await router.invalidate(app, key));
    unwrap(await router.configure(app, { shards: 2 }));
    // Some expire before they moved back: they end at their source or at their owner.
    testClock.now = T0 + 1000;
    await drain(ns, app);
    for (let round = 0; round < 5; round++) {
      for (const name of [...objectsOf(app, 4), app]) await runDurableObjectAlarm(stub(ns, name));
    }
    const begins = hookedIds("begin");
    const ends = hookedIds("end");
    expect(begins).toHaveLength(30);
    expect(new Set(ends).size).toBe(ends.length);
    expect(ends.map((id) => id.replace(/:end$/, "")).sort()).toEqual(
      begins.map((id) => id.replace(/:begin$/, "")).sort(),
    );
    expect(unwrap(await router.stats(app)).sessions).toBe(0);
    // And where the Queue delivers them: one begin and one end per session, none twice.
    await settleEvents(
      app,
      objectsOf(app, 4).map((name) => stub(ns, name)),
    );
    const delivered = eventsOf(app);
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
    expect(
      delivered
        .filter((e) => e.type === "begin")
        .map((e) => e.id)
        .sort(),
    ).toEqual([...begins].sort());
    expect(
      delivered
        .filter((e) => e.type === "end")
        .map((e) => e.id)
        .sort(),
    ).toEqual([...ends].sort());
  }, 30_000);
});

describe("every transport across a move", () => {
  it("HTTP: PUT changes the shard count, and reads and commits go on as before", async () => {
    const app = "http-moves";
    const created = [];
    for (const key of KEYS.slice(0, 12)) {
      const res = await call("PATCH", `/v1/apps/${app}/sessions/${key}`, {
        version: 0,
        set: { n: 1 },
      });
      created.push((await res.json()) as SessionSnapshot);
    }
    const put = await call("PUT", `/v1/apps/${app}`, { shards: 4 });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ settings: { shards: 4 } });
    for (const before of created) {
      const read = await call("GET", `/v1/apps/${app}/sessions/${before.key}`);
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ sid: before.sid, version: 1, data: { n: 1 } });
      const write = await call("PATCH", `/v1/apps/${app}/sessions/${before.key}`, {
        version: 1,
        sid: before.sid,
        set: { n: 2 },
      });
      expect(write.status).toBe(200);
    }
    const stats = (await (await call("GET", `/v1/apps/${app}`)).json()) as { sessions: number };
    expect(stats.sessions).toBe(12);
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 1 })).status).toBe(200);
    await drain(env.SESSION_MANAGER as Namespace, app);
    const again = await call("GET", `/v1/apps/${app}/sessions/${created[0]?.key}`);
    expect(await again.json()).toMatchObject({ version: 2, data: { n: 2 } });
  }, 30_000);

  it("the service binding and the Durable Object factory: a unit of work across a move", async () => {
    const app = "factories-move";
    const service = new ServiceSessionManagerFactory(env.SESSIONS, app);
    const direct = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, app);
    const m = await service.open();
    for (const key of KEYS.slice(0, 10)) (await m.get(key)).set("n", 1);
    await m.connection.commit();
    const cached = await direct.open(); // learns the 1-shard layout
    expect((await cached.get("user-0")).get("n")).toBe(1);

    unwrap(await new SessionRouter(env.SESSION_MANAGER).configure(app, { shards: 4 }));
    for (const factory of [service, direct]) {
      await withRetry(factory, async (manager) => {
        for (const key of KEYS.slice(0, 10)) {
          const data = await manager.get(key);
          data.set("n", (data.get<number>("n") ?? 0) + 1);
        }
      });
    }
    const check = await direct.open();
    for (const key of KEYS.slice(0, 10)) expect((await check.get(key)).get("n")).toBe(3);
  });

  it("the middleware: a cookie session survives a move, and regenerate finds a key on the new shard", async () => {
    const app = "middleware-move";
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, app);
    const web = new Hono();
    web.use(sessions({ factory, secret: "a-test-secret-that-is-long-enough-0123456789" }));
    web.post("/write", async (c) => {
      await c.get("session").set("user", "ann");
      return c.text("ok");
    });
    web.get("/read", async (c) => c.json({ user: (await c.get("session").get("user")) ?? null }));
    web.post("/login", async (c) => {
      await c.get("session").regenerate();
      return c.json({ id: c.get("session").id });
    });
    const cookie = (await web.request("/write", { method: "POST" })).headers
      .get("set-cookie")
      ?.split(";")[0] as string;
    // Another client grows the app; this isolate's factory still says 1 shard.
    unwrap(await new SessionRouter(env.SESSION_MANAGER).configure(app, { shards: 8 }));
    const read = await web.request("/read", { headers: { cookie } });
    expect(await read.json()).toEqual({ user: "ann" });
    // Each login picks the new ID with the factory's stale count first (1 shard): that lands on
    // another of the 8 shards 7 times in 8, and the middleware retries with the count in force.
    const layout = await homeLayout(env.SESSION_MANAGER as Namespace, app);
    let current = cookie;
    for (let i = 0; i < 5; i++) {
      const login = await web.request("/login", { method: "POST", headers: { cookie: current } });
      expect(login.status).toBe(200);
      // The rotation happens at commit, after the handler: the cookie names the ID stored.
      const idOf = (c: string) => decodeURIComponent(c.split("=")[1] as string).split(".")[0];
      const next = login.headers.get("set-cookie")?.split(";")[0] as string;
      const id = idOf(next) as string;
      const oldId = idOf(current) as string;
      expect(id).not.toBe(oldId);
      expect(ownerOf(app, id, layout)).toBe(ownerOf(app, oldId, layout));
      expect((await (await factory.open()).get(id)).get("user")).toBe("ann");
      current = next;
    }
  });
});

describe("source and owner", () => {
  it("names the source of a key during a move", () => {
    const layout: Layout = { epoch: 2, shards: 4, from: 1, placement: {} };
    expect(sourceOf("shop", "abc", layout)).toBe("shop");
    expect(ownerOf("shop", "abc", layout)).toMatch(/^shop#[0-3]$/);
    expect(sourceOf("shop", "abc", { ...layout, from: null })).toBeUndefined();
  });
});

/**
 * Evicts an object, waiting for it to be evictable: workerd refuses an eviction while the object
 * still holds references (background sends of its alarm run, which take longer on a loaded
 * machine), and says so with "Timed out waiting to evict". The eviction still falls between two
 * alarm runs; only its moment waits.
 */
async function evictPatiently(object: DurableObjectStub): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await evictDurableObject(object);
      return;
    } catch (error) {
      if (attempt >= 5 || !String(error).includes("Timed out waiting to evict")) throw error;
    }
  }
}
