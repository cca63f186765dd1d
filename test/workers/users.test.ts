import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import {
  objectName,
  type SessionObjectNamespace,
  SessionRouter,
  shardOf,
  unwrap,
} from "../../src/index";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import type { SessionManagerRpc } from "../../src/routing/wire";
import { testClock } from "./clock";
import { T0 } from "./helpers";
import { endMoves, homeLayout, ns, object, storedOf } from "./user-objects";

beforeEach(() => {
  testClock.now = T0;
});

/** The namespace, counting the objects each call reaches (no `idFromName`: one stub per call). */
function counting() {
  const reached: string[] = [];
  const namespace: SessionObjectNamespace = {
    getByName(name, options) {
      reached.push(name);
      return ns().getByName(name, options);
    },
  };
  return { namespace, reached };
}

/** The worker's RPC entrypoint, as a user's Worker reaches it through a service binding. */
function service(): SessionManagerRpc {
  return env.SESSIONS as unknown as SessionManagerRpc;
}

/** An anonymous session with data at a key on another shard than the user's. */
async function anonymous(
  router: SessionRouter,
  app: string,
  user: string,
  shards: number,
  seed: string,
): Promise<string> {
  const tag = await userTag(app, user);
  const userShard = shardOf(`${tag}!x`, shards);
  let key = "";
  for (let i = 0; ; i++) {
    key = `anon-${seed}-${i}`;
    if (shards === 1 || shardOf(key, shards) !== userShard) break;
  }
  unwrap(await router.commit(app, { key, sid: null, version: 0, set: { seed } }));
  return key;
}

async function signIn(
  router: SessionRouter,
  app: string,
  user: string,
  shards: number,
  seed: string,
) {
  const key = await anonymous(router, app, user, shards, seed);
  const view = unwrap(await router.get(app, key));
  return unwrap(
    await router.signIn(app, { key, sid: view.sid, version: view.version }, user, { device: seed }),
  );
}

describe("sign-in through the router", () => {
  it("moves a session from another shard to its user's object, data kept, old key ended", async () => {
    const app = "users-across";
    const router = new SessionRouter(ns());
    unwrap(await router.configure(app, { shards: 8 }));
    await endMoves(app);
    const key = await anonymous(router, app, "ann", 8, "phone");
    const view = unwrap(await router.get(app, key));
    const signed = unwrap(
      await router.signIn(
        app,
        { key, sid: view.sid, version: view.version, set: { more: 1 } },
        "ann",
      ),
    );
    expect(signed.user).toBe("ann");
    expect(signed.data).toEqual({ seed: "phone", more: 1 });
    expect(tagOf(signed.key)).toBe(await userTag(app, "ann"));
    expect(shardOf(signed.key, 8)).not.toBe(shardOf(key, 8));
    expect(unwrap(await router.query(app, key))).toBeNull();
    expect(unwrap(await router.get(app, signed.key))).toMatchObject({ user: "ann", version: 1 });
  });

  it("refuses a sign-in whose session changed while it moved, and leaves no signed-in copy", async () => {
    const app = "users-race";
    const base = new SessionRouter(ns());
    unwrap(await base.configure(app, { shards: 4 }));
    await endMoves(app);
    const key = await anonymous(base, app, "bea", 4, "race");
    const view = unwrap(await base.get(app, key));
    // Between the copy to the user's object and the retirement of the old key, a commit lands.
    const namespace: SessionObjectNamespace = {
      getByName(name, options) {
        const stub = ns().getByName(name, options) as unknown as SessionObjectRpc;
        return new Proxy(stub, {
          get(target, prop) {
            if (prop !== "bind") return Reflect.get(target, prop);
            return async (...args: Parameters<SessionObjectRpc["bind"]>) => {
              const answer = await target.bind(...args);
              const now = unwrap(await base.get(app, key));
              unwrap(
                await base.commit(app, {
                  key,
                  sid: now.sid,
                  version: now.version,
                  set: { late: 1 },
                }),
              );
              return answer;
            };
          },
        });
      },
    };
    const racing = new SessionRouter(namespace);
    const result = await racing.signIn(app, { key, sid: view.sid, version: view.version }, "bea");
    expect(result).toMatchObject({ ok: false, error: { code: "conflict", status: 409 } });
    expect(unwrap(await base.get(app, key)).data).toEqual({ seed: "race", late: 1 });
    await expect(base.userSessions(app, "bea")).resolves.toMatchObject({
      ok: false,
      error: { code: "user_not_found" },
    });
  });
});

describe("a user's sessions", () => {
  it("are listed and ended by calling one object, at 1 shard and at 64", async () => {
    for (const shards of [1, 64]) {
      const app = `users-cost-${shards}`;
      const router = new SessionRouter(ns());
      unwrap(await router.configure(app, { shards }));
      if (shards > 1) await endMoves(app);
      const keys = [];
      for (let i = 0; i < 5; i++)
        keys.push((await signIn(router, app, "cat", shards, `d${i}`)).key);
      await signIn(router, app, "dan", shards, "other");
      const { namespace, reached } = counting();
      const watched = new SessionRouter(namespace);
      const listed = unwrap(await watched.userSessions(app, "cat", keys[0]));
      expect(listed.sessions).toHaveLength(5);
      expect(listed.sessions.filter((s) => s.current)).toHaveLength(1);
      const userObject = objectName(app, keys[0], shards);
      // The home object once (the layout), then the user's object alone.
      expect(reached.filter((n) => n !== objectName(app))).toEqual(shards > 1 ? [userObject] : []);
      reached.length = 0;
      expect(unwrap(await watched.endUserSessions(app, "cat", { all: true }))).toBe(5);
      expect(new Set(reached)).toEqual(new Set([userObject]));
      for (const key of keys) {
        expect(unwrap(await router.query(app, key))).toBeNull();
        expect(unwrap(await service().query(app, key))).toBeNull();
      }
      expect(unwrap(await router.userSessions(app, "dan")).sessions).toHaveLength(1);
    }
  });

  it("read and write rows in proportion to the user's sessions, not the app's", async () => {
    const app = "users-rows";
    const router = new SessionRouter(ns());
    for (let i = 0; i < 200; i++) {
      unwrap(await router.commit(app, { key: `crowd-${i}`, sid: null, version: 0, set: { i } }));
    }
    for (let i = 0; i < 4; i++) await signIn(router, app, "eve", 1, `e${i}`);
    const home = object(app);
    const before = await home.usage();
    const listed = unwrap(await router.userSessions(app, "eve"));
    const afterList = await home.usage();
    expect(listed.sessions).toHaveLength(4);
    expect(afterList.rowsRead - before.rowsRead).toBeLessThanOrEqual(4 + 2);
    expect(afterList.rowsWritten - before.rowsWritten).toBe(0);
    expect(unwrap(await router.endUserSessions(app, "eve", { all: true }))).toBe(4);
    const afterEnd = await home.usage();
    // Each ended session: its row, its index entries and the outbox's (about 7 rows), never the
    // 200 other sessions of the app.
    expect(afterEnd.rowsRead - afterList.rowsRead).toBeLessThanOrEqual(4 * 8 + 2);
    // Per ended session: its row and its index entry out, its end event into the outbox.
    expect(afterEnd.rowsWritten - afterList.rowsWritten).toBeLessThanOrEqual(4 * 3);
  });

  it("are all ended by 'end all' during a move, those still at their source too", async () => {
    const app = "users-moving";
    const router = new SessionRouter(ns());
    unwrap(await router.configure(app, { shards: 2 }));
    await endMoves(app);
    const keys = [];
    for (let i = 0; i < 6; i++) keys.push((await signIn(router, app, "fay", 2, `f${i}`)).key);
    unwrap(await router.configure(app, { shards: 8 }));
    const moving = await homeLayout(app);
    expect(moving.from).toBe(2);
    // No alarm ran: the user's sessions are still at their source.
    expect(await storedOf(app, "fay", [2])).toHaveLength(6);
    expect(unwrap(await router.endUserSessions(app, "fay", { all: true }))).toBe(6);
    for (const key of keys) expect(unwrap(await router.query(app, key))).toBeNull();
    await endMoves(app);
    expect(await storedOf(app, "fay", [2, 8])).toEqual([]);
    for (const key of keys) expect(unwrap(await router.query(app, key))).toBeNull();
  });

  it("are listed whole during a move, and a sign-in meanwhile joins them", async () => {
    const app = "users-moving-list";
    const router = new SessionRouter(ns());
    unwrap(await router.configure(app, { shards: 3 }));
    await endMoves(app);
    for (let i = 0; i < 4; i++) await signIn(router, app, "gus", 3, `g${i}`);
    unwrap(await router.configure(app, { shards: 5 }));
    await signIn(router, app, "gus", 5, "during");
    const listed = unwrap(await router.userSessions(app, "gus"));
    expect(listed.sessions.map((s) => s.labels.device).sort()).toEqual(
      ["during", "g0", "g1", "g2", "g3"].sort(),
    );
    await endMoves(app);
    expect(unwrap(await router.userSessions(app, "gus")).sessions).toHaveLength(5);
  });

  it("refuse bad input over RPC with a code, and write nothing", async () => {
    const app = "users-bad";
    const router = new SessionRouter(ns());
    const key = await anonymous(router, app, "x", 1, "bad");
    const view = unwrap(await router.get(app, key));
    const changes = { key, sid: view.sid, version: view.version };
    const before = await object(app).usage();
    const cases: [Promise<{ ok: boolean; error?: { code: string } }>, string][] = [
      [service().signIn(app, changes, ""), "invalid_user"],
      [service().signIn(app, changes, "u".repeat(257)), "invalid_user"],
      [service().signIn(app, changes, 7 as never), "invalid_user"],
      [service().signIn(app, changes, "u", { big: "x".repeat(2000) }), "invalid_labels"],
      [service().signIn(app, changes, "u", [] as never), "invalid_labels"],
      [service().signIn(app, { ...changes, invalidate: true }, "u"), "invalid_changeset"],
      [service().userSessions(app, "nobody"), "user_not_found"],
      [service().endUserSessions(app, "nobody", { all: true }), "user_not_found"],
      [service().endUserSessions(app, "u", {} as never), "invalid_input"],
      [service().userSessions(app, ""), "invalid_user"],
    ];
    for (const [call, code] of cases) {
      expect(await call).toMatchObject({ ok: false, error: { code } });
    }
    unwrap(await router.signIn(app, changes, "u"));
    const mid = await object(app).usage();
    expect(mid.rowsWritten).toBeGreaterThan(before.rowsWritten);
    const handleCases = [
      service().endUserSessions(app, "u", { handle: "unknown-handle" }),
      service().endUserSessions(app, "u", { handle: key }),
    ];
    for (const call of handleCases) {
      expect(await call).toMatchObject({
        ok: false,
        error: { code: "handle_not_found", status: 404 },
      });
    }
    expect((await object(app).usage()).rowsWritten).toBe(mid.rowsWritten);
    expect(unwrap(await service().userSessions(app, "u")).sessions).toHaveLength(1);
  });

  it("never put the user's identifier in a key, a handle or a log line", async () => {
    const app = "users-privacy";
    const user = "alice@example.com";
    const router = new SessionRouter(ns());
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      }),
    );
    try {
      const signed = await signIn(router, app, user, 1, "p");
      expect(signed.key).not.toContain("alice");
      const listed = unwrap(await router.userSessions(app, user, signed.key));
      for (const s of listed.sessions) expect(s.handle).not.toContain("alice");
      const refused = await router.endUserSessions(app, user, { handle: "nope" });
      expect(refused.ok).toBe(false);
      expect(JSON.stringify(refused)).not.toContain("alice");
      const unknown = await router.userSessions(app, "bob@example.com");
      expect(JSON.stringify(unknown)).not.toContain("bob");
      unwrap(await router.endUserSessions(app, user, { all: true }));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(logged.filter((line) => /alice|bob|example\.com/.test(line))).toEqual([]);
  });
});
