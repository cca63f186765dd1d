/**
 * "End all" of a user under races (docs/DESIGN.md#users): the same user signs in from 32 clients
 * at once while the app's shard count changes 2 → 8 → 3 and its objects' alarms move sessions,
 * and "end all" runs in the middle. No session bound before "end all" began survives it; every
 * sign-in is either ended by it or listed afterwards; every stored session has one begin and one
 * end event where the Queue delivers them.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import {
  type Layout,
  objectName,
  type SessionObjectNamespace,
  SessionRouter,
  unwrap,
} from "../../src/index";
import { layoutObjects, objectsOf } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { testClock } from "./clock";
import { eventsOf, repeatsOf } from "./deliveries";
import { settleEvents, T0 } from "./helpers";

beforeEach(() => {
  testClock.now = T0;
});

type Namespace = DurableObjectNamespace & SessionObjectNamespace;

function ns(): Namespace {
  return env.SESSION_MANAGER as Namespace;
}

function object(name: string): SessionObjectRpc {
  return ns().getByName(name) as unknown as SessionObjectRpc;
}

async function homeLayout(app: string): Promise<Layout> {
  return unwrap(await object(objectName(app)).layout(app)).layout;
}

/** Runs every object's alarm once (a step of any move under way). */
async function alarms(app: string, shards: number[]): Promise<void> {
  const names = new Set(shards.flatMap((n) => objectsOf(app, n)));
  await Promise.all([...names].map((name) => runDurableObjectAlarm(ns().getByName(name))));
}

async function endMoves(app: string): Promise<void> {
  for (let round = 0; round < 60; round++) {
    const layout = await homeLayout(app);
    const settings = unwrap(await object(objectName(app)).open(app));
    if (layout.from === null && layout.shards === settings.shards) return;
    for (const name of layoutObjects(app, layout))
      await runDurableObjectAlarm(ns().getByName(name));
  }
  throw new Error(`the moves of ${app} did not end`);
}

/** The keys of `user`'s tag stored in any object of the app (a full scan). */
async function storedOf(app: string, user: string, shards: number[]): Promise<string[]> {
  const tag = await userTag(app, user);
  const found: string[] = [];
  for (const name of new Set(shards.flatMap((n) => objectsOf(app, n)))) {
    const keys = await runInDurableObject(ns().getByName(name), (_i, state) =>
      state.storage.sql
        .exec<{ key: string }>("SELECT key FROM sessions WHERE user IS NOT NULL")
        .toArray()
        .map((r) => r.key),
    );
    for (const key of keys) if (tagOf(key) === tag) found.push(key);
  }
  return found;
}

/** The order in which things happened (workerd's clock stands still during I/O). */
let tick = 0;

/** A client: an anonymous session with data, then signed in as `user`. */
async function client(router: SessionRouter, app: string, user: string, i: number) {
  const key = `visitor-${user}-${i}`;
  unwrap(await router.commit(app, { key, sid: null, version: 0, set: { i } }));
  const view = unwrap(await router.get(app, key));
  const result = await router.signIn(app, { key, sid: view.sid, version: view.version }, user, {
    device: `client-${i}`,
  });
  return { result, done: ++tick };
}

describe("end all, racing sign-ins and resharding", () => {
  it("leaves no survivor of before it began, and loses no later sign-in from the listing", async () => {
    const app = "users-race-all";
    const user = "racer";
    const router = new SessionRouter(ns());
    unwrap(await router.open(app, { beginEvents: true }));
    unwrap(await router.configure(app, { shards: 2 }));
    await endMoves(app);
    // Signed in before anything races.
    const before = [];
    for (let i = 0; i < 6; i++)
      before.push(unwrap((await client(router, app, user, i)).result).key);

    // 2 → 8: a move begins; 32 clients sign in at once; alarms move sessions meanwhile.
    unwrap(await router.configure(app, { shards: 8 }));
    const racing = Array.from({ length: 32 }, (_, i) =>
      client(new SessionRouter(ns()), app, user, 100 + i),
    );
    // "End all" starts once some of the racing sign-ins answered, while the sessions signed in
    // before are still at their source; then the alarms move sessions while sign-ins go on.
    await Promise.race(racing);
    const atSource = await storedOf(app, user, [2]);
    for (const key of before) expect(atSource).toContain(key);
    const endStarted = ++tick;
    const ended = unwrap(await router.endUserSessions(app, user, { all: true }));
    const endAnswered = ++tick;
    const mover = (async () => {
      for (let round = 0; round < 3; round++) await alarms(app, [2, 8]);
    })();
    const outcomes = await Promise.all(racing);
    await mover;

    // 8 → 3 while the survivors are live; four more clients sign in during that move.
    unwrap(await router.configure(app, { shards: 3 }));
    const after = [];
    for (let i = 0; i < 4; i++) after.push(await client(router, app, user, 200 + i));
    await endMoves(app);

    const signedIn = outcomes.filter((o) => o.result.ok);
    expect(signedIn.length + outcomes.filter((o) => !o.result.ok).length).toBe(32);
    expect(ended).toBeGreaterThanOrEqual(before.length);
    // It did race: sign-ins were in flight on both sides of "end all".
    expect(signedIn.some((o) => o.done > endAnswered)).toBe(true);
    // Bound before "end all" began: none survives.
    const boundBefore = [
      ...before,
      ...signedIn.filter((o) => o.done < endStarted).map((o) => unwrap(o.result).key),
    ];
    for (const key of boundBefore) expect(unwrap(await router.query(app, key))).toBeNull();
    // Every sign-in is ended by it or listed afterwards: the live ones are exactly the listing.
    const live: string[] = [];
    for (const o of [...signedIn, ...after]) {
      const key = unwrap(o.result).key;
      if (unwrap(await router.query(app, key)) !== null) live.push(key);
    }
    const listing = await router.userSessions(app, user);
    const listed = listing.ok ? listing.value.sessions : [];
    expect(listed).toHaveLength(live.length);
    // And nothing else of the user is stored anywhere (no copy left behind by a move).
    expect((await storedOf(app, user, [2, 8, 3])).sort()).toEqual(live.sort());
    // Those begun after "end all" answered are all live, and listed.
    for (const o of after) expect(live).toContain(unwrap(o.result).key);

    // End the rest, then count the events where the Queue delivers them.
    if (live.length > 0) unwrap(await router.endUserSessions(app, user, { all: true }));
    await settleEvents(
      app,
      [...new Set([...objectsOf(app, 2), ...objectsOf(app, 8), ...objectsOf(app, 3)])].map(object),
    );
    expect(repeatsOf(app)).toEqual({ redelivered: [], resent: [], twice: [] });
    const events = eventsOf(app);
    const begins = new Set(events.filter((e) => e.type === "begin").map((e) => e.id.split(":")[0]));
    const ends = events.filter((e) => e.type === "end").map((e) => e.id.split(":")[0]);
    expect(new Set(ends).size).toBe(ends.length);
    expect(new Set(ends)).toEqual(begins);
    // Every signed-in session of the user ended revoked (or, for a visitor key, regenerated).
    for (const e of events.filter((e) => e.type === "end")) {
      expect(tagOf(e.key) === undefined ? "regenerated" : "revoked").toBe(e.reason);
    }
  }, 60_000);
});
