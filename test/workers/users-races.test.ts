/**
 * "End all" of a user under races (docs/DESIGN.md#users): the same user signs in from 32 clients
 * at once while the app's shard count changes 2 → 8 → 3 and its objects' alarms move sessions,
 * and "end all" runs in the middle. No session bound before "end all" began survives it; every
 * sign-in is either ended by it or listed afterwards; every stored session has one begin and one
 * end event where the Queue delivers them.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { tagOf } from "../../src/core/names";
import { SessionRouter, unwrap } from "../../src/index";
import { objectsOf } from "../../src/routing/layout";
import { testClock } from "./clock";
import { eventsOf, repeatsOf } from "./deliveries";
import { settleEvents, T0 } from "./helpers";
import { endMoves, ns, object, storedOf } from "./user-objects";

beforeEach(() => {
  testClock.now = T0;
});

/** Runs every object's alarm once (a step of any move under way). */
async function alarms(app: string, shards: number[]): Promise<void> {
  const names = new Set(shards.flatMap((n) => objectsOf(app, n)));
  await Promise.all([...names].map((name) => runDurableObjectAlarm(ns().getByName(name))));
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
