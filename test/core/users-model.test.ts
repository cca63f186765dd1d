import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryStore, type SessionEvent } from "../../src/index";
import { makeManager } from "./helpers";

// A model of a user's sessions (docs/DESIGN.md#users), checked against the manager over random
// runs of sign-ins, "end all", "end all but mine", "end one", reads and time passing, with and
// without a per-user limit: after every step the listing of each user is exactly the model's live
// sessions, no ended session is found, and every stored session has one begin and one end.

type Step =
  | { kind: "signIn"; user: number }
  | { kind: "endAll"; user: number }
  | { kind: "endOthers"; user: number; pick: number }
  | { kind: "endOne"; user: number; pick: number }
  | { kind: "read"; user: number; pick: number }
  | { kind: "wait"; seconds: number };

const USERS = ["u0", "u1"];
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("signIn" as const), user: fc.nat(1) }),
  fc.record({ kind: fc.constant("signIn" as const), user: fc.nat(1) }),
  fc.record({ kind: fc.constant("endAll" as const), user: fc.nat(1) }),
  fc.record({ kind: fc.constant("endOthers" as const), user: fc.nat(1), pick: fc.nat(9) }),
  fc.record({ kind: fc.constant("endOne" as const), user: fc.nat(1), pick: fc.nat(9) }),
  fc.record({ kind: fc.constant("read" as const), user: fc.nat(1), pick: fc.nat(9) }),
  fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 60 }) }),
);

/** The model's view of one live session: its key, and the end of the period of its last access. */
interface Live {
  key: string;
  sliceEnd: number;
  created: number;
}

describe("a user's sessions, against a model", () => {
  it("listing, 'end all', 'all but mine', 'one' and the limit agree with the model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(0, 1, 2, 3, 2),
        async (steps, limit) => {
          const timeout = 600;
          const period = 10;
          const { manager, clock, store } = makeManager({
            timeout,
            period,
            maxSessionsPerUser: limit,
            store: new MemoryStore(),
          });
          const events: SessionEvent[] = [];
          manager.on("begin", (e) => events.push(e));
          manager.on("end", (e) => events.push(e));
          const model = new Map<string, Live[]>(USERS.map((u) => [u, []]));
          const ended = new Set<string>();
          const sliceEnd = (t: number) => t - (t % period) + period;
          let n = 0;
          clock.set(1000);
          const expire = () => {
            for (const [user, live] of model) {
              const keep = live.filter((s) => clock.now - s.sliceEnd < timeout);
              for (const s of live) if (!keep.includes(s)) ended.add(s.key);
              model.set(user, keep);
            }
          };
          for (const s of steps) {
            if (s.kind === "wait") {
              clock.set(clock.now + s.seconds);
              expire();
              continue;
            }
            const user = USERS[s.user] as string;
            const live = model.get(user) as Live[];
            if (s.kind === "signIn") {
              const anon = manager.get(`anon-${n++}`);
              anon.set("n", n);
              manager.commit();
              const data = await manager.signIn(anon, user, { n });
              live.push({ key: data.key, sliceEnd: sliceEnd(clock.now), created: clock.now });
              if (limit > 0 && live.length > limit) {
                const others = live
                  .filter((x) => x.key !== data.key)
                  .sort((a, b) => a.sliceEnd - b.sliceEnd || a.created - b.created);
                for (const x of others.slice(0, live.length - limit)) {
                  ended.add(x.key);
                  live.splice(live.indexOf(x), 1);
                }
              }
            } else if (s.kind === "read") {
              const target = live[s.pick % Math.max(live.length, 1)];
              if (target === undefined) continue;
              expect(manager.query(target.key)).toBeDefined();
              manager.abort();
              target.sliceEnd = Math.max(target.sliceEnd, sliceEnd(clock.now));
            } else if (live.length === 0) {
              await expect(manager.endUserSessions(user, { all: true })).rejects.toMatchObject({
                code: "user_not_found",
              });
            } else if (s.kind === "endAll") {
              expect(await manager.endUserSessions(user, { all: true })).toBe(live.length);
              for (const x of live) ended.add(x.key);
              model.set(user, []);
            } else if (s.kind === "endOthers") {
              const mine = live[s.pick % live.length] as Live;
              expect(await manager.endUserSessions(user, { except: mine.key })).toBe(
                live.length - 1,
              );
              for (const x of live) if (x !== mine) ended.add(x.key);
              model.set(user, [mine]);
            } else {
              const one = live[s.pick % live.length] as Live;
              const listing = await manager.userSessions(user, one.key);
              const handle = listing.sessions.find((x) => x.current)?.handle as string;
              expect(await manager.endUserSessions(user, { handle })).toBe(1);
              ended.add(one.key);
              live.splice(live.indexOf(one), 1);
            }
            // The listing of every user is the model's live sessions.
            for (const [who, sessions] of model) {
              const expected = sessions.filter((x) => clock.now - x.sliceEnd < timeout);
              if (expected.length === 0) {
                await expect(manager.userSessions(who)).rejects.toMatchObject({
                  code: "user_not_found",
                });
                continue;
              }
              for (const x of expected) {
                const listed = await manager.userSessions(who, x.key);
                expect(listed.sessions).toHaveLength(expected.length);
                expect(listed.sessions.filter((y) => y.current)).toHaveLength(1);
              }
            }
            for (const key of ended) expect(manager.query(key)).toBeUndefined();
            manager.abort();
          }
          // Every stored session: one begin, and (once everything ended) one end.
          clock.set(clock.now + 10 * timeout);
          manager.sweep();
          expect(store.count()).toBe(0);
          const begins = events.filter((e) => e.type === "begin").map((e) => e.id.split(":")[0]);
          const ends = events.filter((e) => e.type === "end").map((e) => e.id.split(":")[0]);
          expect(new Set(begins).size).toBe(begins.length);
          expect(new Set(ends).size).toBe(ends.length);
          expect(new Set(ends)).toEqual(new Set(begins));
        },
      ),
      { numRuns: 200 },
    );
  });
});
