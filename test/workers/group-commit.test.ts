import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { SessionSnapshot } from "../../src/core/session-view";
import {
  type Changeset,
  type CommitResult,
  ConnectionManager,
  DurableObjectSessionManagerFactory,
  type Result,
  type SessionObjectNamespace,
  SessionRouter,
  shardOf,
  unwrap,
} from "../../src/index";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import type { SessionManagerObject } from "../../worker/index";
import { testClock } from "./clock";
import { create, createMany, keys, manager, T0 } from "./helpers";
import { flakyQueue, resetFlakyQueue } from "./main";

type Answer = Result<CommitResult>;

beforeEach(() => {
  testClock.now = T0;
  resetFlakyQueue();
});

/**
 * Runs `fn` inside the object, where its RPC methods can be called in one turn of the event loop:
 * the first commit starts a write, and commits made before it is durable wait for it together.
 */
function inObject<T>(app: string, fn: (object: SessionManagerObject) => Promise<T>): Promise<T> {
  return runInDurableObject(manager(app), (instance) => fn(instance as SessionManagerObject));
}

function change(session: SessionSnapshot, set: Record<string, number>): Changeset {
  return { key: session.key, sid: session.sid, version: session.version, set };
}

describe("group commit: commits that arrive while a write is in flight", () => {
  it("wait for it and are applied together; a conflicting one fails alone", async () => {
    const app = "group-conflict";
    const a = await create(manager(app), app, "a", { n: 0 });
    const b = await create(manager(app), app, "b", { n: 0 });
    await inObject(app, async (object) => {
      // The first commit is applied (or waits for a write still in flight): either way a write is
      // in flight now, and the next two wait for it, to be applied in one transaction.
      const first = object.commit(app, change(a, { n: 1 }));
      const conflicting = object.commit(app, change(a, { n: 2 })); // same base, same key as first
      const clean = object.commit(app, change(b, { n: 2 }));
      expect(conflicting).toBeInstanceOf(Promise);
      expect(clean).toBeInstanceOf(Promise);
      const [refused, applied] = (await Promise.all([conflicting, clean])) as Answer[];
      expect(refused).toMatchObject({
        ok: false,
        error: { code: "conflict", status: 409, keys: ["n"], current: { data: { n: 1 } } },
      });
      expect(applied).toMatchObject({ ok: true, value: { key: "b", version: 2, data: { n: 2 } } });
      expect(await first).toMatchObject({ ok: true, value: { version: 2, data: { n: 1 } } });
    });
    expect(unwrap(await manager(app).query(app, "a"))).toMatchObject({
      version: 2,
      data: { n: 1 },
    });
    expect(unwrap(await manager(app).query(app, "b"))).toMatchObject({
      version: 2,
      data: { n: 2 },
    });
  });

  it("write a session changed twice in one group once, and answer both changes", async () => {
    const app = "group-twice";
    const grouped = await create(manager(app), app, "grouped", { n: 0 });
    const apart = await create(manager(app), app, "apart", { n: 0 });
    const other = await create(manager(app), app, "other", { n: 0 });
    const written = (object: SessionManagerObject) => object.usage().rowsWritten;

    // Apart: two commits of one session, each its own write.
    const rowsApart = await inObject(app, async (object) => {
      const before = written(object);
      unwrap(await object.commit(app, change(apart, { x: 1 })));
      unwrap(await object.commit(app, change(apart, { y: 1 })));
      return written(object) - before;
    });
    // Grouped: both wait behind another commit's write, and are applied together.
    const rowsGrouped = await inObject(app, async (object) => {
      await Promise.resolve(object.commit(app, change(other, { n: 1 })));
      const another = object.commit(app, change(other, { m: 2 })); // merges: another key
      const before = written(object);
      const answers = (await Promise.all([
        object.commit(app, change(grouped, { x: 1 })),
        object.commit(app, change(grouped, { y: 1 })),
      ])) as Answer[];
      expect(answers[0]).toMatchObject({ ok: true, value: { version: 2, data: { n: 0, x: 1 } } });
      expect(answers[1]).toMatchObject({
        ok: true,
        value: { version: 3, data: { n: 0, x: 1, y: 1 } },
      });
      expect(await another).toMatchObject({ ok: true, value: { version: 3 } });
      return written(object) - before;
    });
    expect(rowsApart).toBeGreaterThan(0);
    // The other session's second commit is in the same group: one row for it, and the grouped
    // session written once for both of its changes.
    expect(rowsGrouped - 1).toBeLessThan(rowsApart);
    expect(unwrap(await manager(app).query(app, "grouped"))).toMatchObject({
      version: 3,
      data: { n: 0, x: 1, y: 1 },
    });
  });

  it("are seen by any call that comes after them", async () => {
    const app = "group-order";
    const a = await create(manager(app), app, "a", { n: 0 });
    await inObject(app, async (object) => {
      object.commit(app, change(a, { n: 1 }));
      const waiting = object.commit(app, change({ ...a, version: 2 }, { n: 2 }));
      expect(waiting).toBeInstanceOf(Promise);
      // A read made after it, before the write in flight is durable, sees it.
      expect(unwrap(await object.get(app, "a"))).toMatchObject({ version: 3, data: { n: 2 } });
      expect(await waiting).toMatchObject({ ok: true, value: { version: 3 } });
    });
  });
});

describe("commitMany: several sessions of one object in one call", () => {
  it("applies each changeset on its own: a refused one does not touch the others", async () => {
    const app = "many-each";
    const stub = manager(app, env.FLAKY_MANAGER);
    unwrap(await stub.open(app, { maxSessionBytes: 100, beginEvents: true }));
    const a = await create(stub, app, "a", { n: 0 });
    const b = await create(stub, app, "b", { n: 0 });
    unwrap(await stub.commit(app, change(a, { n: 1 })));
    unwrap(await stub.sweep(app)); // sends the events so far
    flakyQueue.accepted.length = 0;
    const results = unwrap(
      await stub.commitMany(app, [
        change(a, { n: 2 }), // conflicts: n changed since version 1
        change(b, { big: 0, text: "x".repeat(200) } as never), // too large
        { key: "c", sid: null, version: 0, set: { n: 1 } }, // a new session: a begin event
        { key: "b", sid: b.sid, version: b.version, invalidate: true }, // ends b: an end event
      ]),
    );
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual([
      "conflict",
      "session_too_large",
      "ok",
      "ok",
    ]);
    expect(unwrap(await stub.query(app, "a"))).toMatchObject({ version: 2, data: { n: 1 } });
    expect(unwrap(await stub.query(app, "b"))).toBeNull();
    expect(unwrap(await stub.query(app, "c"))).toMatchObject({ version: 1, data: { n: 1 } });
    // The begin and the end event were written with their changes; the refused ones wrote none.
    unwrap(await stub.sweep(app));
    expect(flakyQueue.accepted.map((e) => [e.type, e.key])).toEqual([
      ["begin", "c"],
      ["end", "b"],
    ]);
  });

  it("refuses a malformed list whole, before anything is written", async () => {
    const app = "many-bad";
    const stub = manager(app);
    const a = await create(stub, app, "a", { n: 0 });
    const before = unwrap(await stub.stats(app)).usage.rowsWritten;
    const refused = await stub.commitMany(app, [change(a, { n: 1 }), { key: "b", version: -1 }]);
    expect(refused).toMatchObject({
      ok: false,
      error: { code: "invalid_changeset", status: 400, message: expect.stringContaining("1") },
    });
    expect(await stub.commitMany(app, [])).toMatchObject({ ok: false, error: { status: 400 } });
    expect(unwrap(await stub.stats(app)).usage.rowsWritten).toBe(before);
    expect(unwrap(await stub.query(app, "a"))).toMatchObject({ version: 1 });
  });
});

describe("a group keeps the rules of a lone commit", () => {
  it("a commit that changes nothing writes nothing and answers the stored session as it is", async () => {
    const app = "group-noop";
    const a = await create(manager(app), app, "a", { n: 0 });
    await inObject(app, async (object) => {
      const before = object.usage().rowsWritten;
      const [unchanged] = unwrap(await object.commitMany(app, [change(a, { n: 0 })]));
      expect(unchanged).toEqual({ ok: true, value: a });
      expect(object.usage().rowsWritten).toBe(before);
      // Waiting behind another commit's write, too.
      object.commit(app, { key: "b", sid: null, version: 0, set: { n: 1 } });
      const waiting = object.commit(app, change(a, { n: 0 }));
      expect(waiting).toBeInstanceOf(Promise);
      expect(await waiting).toEqual({ ok: true, value: a });
    });
    expect(unwrap(await manager(app).query(app, "a"))).toMatchObject({ version: 1 });
  });

  it("stores the app with its first stored change, and not for refused or empty ones", async () => {
    const app = "group-app-row";
    const stub = manager(app);
    const nothing = unwrap(
      await stub.commitMany(app, [
        { key: "a", sid: null, version: 0, delete: ["x"] }, // a new session left empty
        { key: "b", sid: "gone", version: 3, set: { n: 1 } }, // a session that ended
      ]),
    );
    expect(nothing[0]).toEqual({ ok: true, value: { key: "a", stored: false, valid: true } });
    expect(nothing[1]).toMatchObject({ ok: false, error: { code: "session_ended" } });
    expect(unwrap(await stub.layout(app))).toMatchObject({ stored: false });
    expect(await inObject(app, async (object) => object.usage().rowsWritten)).toBe(0);

    const stored = unwrap(
      await stub.commitMany(app, [
        { key: "b", sid: "gone", version: 3, set: { n: 1 } },
        { key: "c", sid: null, version: 0, set: { n: 1 } },
      ]),
    );
    expect(stored.map((r) => r.ok)).toEqual([false, true]);
    expect(unwrap(await stub.layout(app))).not.toHaveProperty("stored");
    expect(unwrap(await stub.stats(app)).settings).toMatchObject({ shards: 1 });
    expect(unwrap(await stub.stats(app)).sessions).toBe(1);
  });

  it("moves a session (newKey) within its commit's savepoint: a taken key refuses it alone", async () => {
    const app = "group-move";
    const stub = manager(app);
    const [a, b] = await createMany(stub, app, ["a", "b", "taken"], { n: 0 });
    const results = unwrap(
      await stub.commitMany(app, [
        { ...change(a as SessionSnapshot, { n: 1 }), newKey: "taken" },
        { ...change(b as SessionSnapshot, { n: 1 }), newKey: "b2" },
        { key: "taken", sid: null, version: 0, set: { m: 1 } }, // merges into the stored one
      ]),
    );
    expect(results[0]).toMatchObject({ ok: false, error: { code: "key_taken", status: 409 } });
    expect(results[1]).toMatchObject({
      ok: true,
      value: { key: "b2", version: 1, data: { n: 1 } },
    });
    expect(results[2]).toMatchObject({ ok: true, value: { key: "taken", data: { n: 0, m: 1 } } });
    // The refused commit's changes rolled back with its move.
    expect(unwrap(await stub.query(app, "a"))).toMatchObject({ version: 1, data: { n: 0 } });
    expect(unwrap(await stub.query(app, "b"))).toBeNull();
  });

  it("applies an exact changeset only to exactly that version (412), and answers invalidations", async () => {
    const app = "group-exact";
    const stub = manager(app);
    const [a, b] = await createMany(stub, app, ["a", "b"], { n: 0 });
    unwrap(await stub.commit(app, change(a as SessionSnapshot, { n: 1 })));
    const results = unwrap(
      await stub.commitMany(app, [
        { ...change(a as SessionSnapshot, { m: 1 }), exact: true }, // a merge would succeed
        { key: "b", sid: (b as SessionSnapshot).sid, version: 1, invalidate: true },
      ]),
    );
    expect(results[0]).toMatchObject({
      ok: false,
      error: { code: "precondition_failed", status: 412, current: { version: 2 } },
    });
    expect(results[1]).toEqual({ ok: true, value: { key: "b", stored: false, valid: false } });
    expect(unwrap(await stub.query(app, "a"))).toMatchObject({ version: 2, data: { n: 1 } });
  });

  it("refuses a key, or a newKey, of another shard alone (wrong_shard)", async () => {
    const app = "group-shards";
    unwrap(await manager(app).open(app, { shards: 4 }));
    const names = keys("k", 40);
    const here = names.filter((k) => shardOf(k, 4) === 0);
    const elsewhere = names.find((k) => shardOf(k, 4) !== 0) as string;
    const stub = env.SESSION_MANAGER.getByName(`${app}#0`) as unknown as SessionObjectRpc;
    unwrap(await stub.adopt(app, { shards: 4 }));
    const [moving] = await createMany(stub, app, [here[0] as string]);
    const results = unwrap(
      await stub.commitMany(app, [
        { key: elsewhere, sid: null, version: 0, set: { n: 1 } },
        { ...change(moving as SessionSnapshot, { n: 2 }), newKey: elsewhere },
        { key: here[1] as string, sid: null, version: 0, set: { n: 1 } },
      ]),
    );
    expect(results.map((r) => (r.ok ? "ok" : r.error.code))).toEqual([
      "wrong_shard",
      "wrong_shard",
      "ok",
    ]);
    expect(unwrap(await stub.query(app, here[0] as string))).toMatchObject({ data: { n: 1 } });

    // Through the router: the move between shards is refused alone there too.
    const router = new SessionRouter(env.SESSION_MANAGER);
    const routed = unwrap(
      await router.commitMany(app, [
        { ...change(moving as SessionSnapshot, { n: 3 }), newKey: elsewhere },
        { key: elsewhere, sid: null, version: 0, set: { n: 1 } },
      ]),
    );
    expect(routed[0]).toMatchObject({ ok: false, error: { code: "wrong_shard", status: 409 } });
    expect(routed[1]).toMatchObject({ ok: true, value: { key: elsewhere, version: 1 } });
    expect(unwrap(await router.query(app, here[0] as string))).toMatchObject({ data: { n: 1 } });
  });
});

describe("ConnectionManager.commit over a Durable Object binding", () => {
  /** The real namespace, with every RPC method called on its stubs recorded. */
  function recordingNamespace() {
    const calls: string[] = [];
    const wrap = (stub: object) =>
      new Proxy(
        {},
        {
          get:
            (_, method: string) =>
            (...args: unknown[]) => {
              calls.push(method);
              return (stub as Record<string, (...a: unknown[]) => unknown>)[method]?.(...args);
            },
        },
      );
    const namespace: SessionObjectNamespace = {
      getByName: (name) => wrap(env.SESSION_MANAGER.getByName(name)),
      idFromName: (name) => env.SESSION_MANAGER.idFromName(name),
      get: (id: never) => wrap(env.SESSION_MANAGER.get(id)),
    };
    return { calls, namespace };
  }

  it("commits the sessions of one object in one call", async () => {
    const { calls, namespace } = recordingNamespace();
    const factory = new DurableObjectSessionManagerFactory(namespace, "uow-one");
    const setup = new ConnectionManager();
    const m0 = await factory.open(setup);
    for (const key of ["a", "b", "c"]) (await m0.get(key)).set("n", 0);
    await setup.commit();

    const cm = new ConnectionManager();
    const m = await factory.open(cm);
    for (const key of ["a", "b", "c"]) (await m.get(key)).set("n", 1);
    calls.length = 0;
    const stored = await cm.commit();
    expect(calls).toEqual(["commitMany"]);
    expect(stored.map((s) => [s?.key, s?.version, s?.data])).toEqual([
      ["a", 2, { n: 1 }],
      ["b", 2, { n: 1 }],
      ["c", 2, { n: 1 }],
    ]);
  });

  it("makes one call per object when the sessions are on several shards", async () => {
    const { calls, namespace } = recordingNamespace();
    const factory = new DurableObjectSessionManagerFactory(namespace, "uow-shards", { shards: 4 });
    const cm = new ConnectionManager();
    const m = await factory.open(cm);
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    for (const key of keys) (await m.get(key)).set("n", 1);
    calls.length = 0;
    const stored = await cm.commit();
    const objects = new Set(keys.map((k) => `uow-shards#${shardOfKey(k)}`));
    expect(calls.filter((c) => c === "commitMany")).toHaveLength(objects.size);
    expect(calls.filter((c) => c === "commit")).toHaveLength(0);
    expect(stored.map((s) => s?.key)).toEqual(keys);
  });

  it("rejects with the refused session's error; the others are stored", async () => {
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, "uow-conflict");
    const setup = new ConnectionManager();
    const m0 = await factory.open(setup);
    for (const key of ["a", "b"]) (await m0.get(key)).set("n", 0);
    await setup.commit();

    const cm = new ConnectionManager();
    const m = await factory.open(cm);
    (await m.get("a")).set("n", 1);
    (await m.get("b")).set("n", 1);
    // Someone else changes a's n meanwhile.
    const other = new ConnectionManager();
    ((await (await factory.open(other)).get("a")) as { set(k: string, v: number): void }).set(
      "n",
      5,
    );
    await other.commit();
    await expect(cm.commit()).rejects.toMatchObject({ code: "conflict", key: "a" });
    const check = await factory.open();
    expect((await check.get("a")).get("n")).toBe(5);
    expect((await check.get("b")).get("n")).toBe(1);
  });
});

function shardOfKey(key: string): number {
  return shardOf(key, 4);
}
