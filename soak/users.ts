// The soak's users phase (docs/DESIGN.md#users): many clients sign the same few users in and out
// over HTTP, "end all" of a user runs at random, and the app goes 2 -> 8 -> 3 shards meanwhile.
// Invariants:
//   - 0 survivors: a session whose sign-in was answered before an "end all" of its user began is
//     found by no read afterwards;
//   - 0 missing: at the end, each user's listing holds exactly the user's sessions that a read
//     finds, and a full scan of every object finds no other session of the user;
//   - every stored session had exactly one begin and one end (soak/invariants.ts).

import { eventInvariants, type SoakDelivery } from "./invariants.ts";
import type { SoakContext } from "./reshard.ts";

export const USERS_APP = "soak-users";
const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);
const CONCURRENCY = 48;
/** The shard counts the phase goes through, from 2. */
const STEPS = [8, 3];
const PAUSE_SECONDS = 3;
const MOVE_LIMIT_SECONDS = 60;
const LATER = 4_000_000_000;

interface Signed {
  key: string;
  user: string;
  /** The order in which it was answered (a counter shared by every client). */
  answered: number;
  signedOut: boolean;
}

interface Stats {
  sessions: number;
  layout: { epoch: number; shards: number; from: number | null };
}

export async function usersPhase(soak: SoakContext) {
  const { api } = soak;
  const started = Date.now();
  const app = `/v1/apps/${USERS_APP}`;
  const open = await api("PUT", app, { shards: 2, timeout: 3600, period: 10, beginEvents: true });
  if (open.status !== 200) throw new Error(`configure: ${open.status} ${await open.text()}`);

  const counts = {
    operations: 0,
    signIns: 0,
    signInConflicts: 0,
    signOuts: 0,
    endAlls: 0,
    endedByEndAll: 0,
    listings: 0,
    unexpectedStatuses: 0,
  };
  const unexpected: string[] = [];
  const note = (what: string, status: number) => {
    counts.unexpectedStatuses++;
    if (unexpected.length < 10) unexpected.push(`${what}: ${status}`);
  };
  let tick = 0;
  const signed: Signed[] = [];
  /** Per user: the ticks at which each "end all" began. */
  const endAllBegan = new Map<string, number[]>();
  let n = 0;
  let stop = false;

  const signIn = async (user: string): Promise<void> => {
    const key = `v-${process.pid}-${n++}`;
    const made = await api("PATCH", `${app}/sessions/${key}`, { version: 0, set: { user } });
    counts.operations++;
    if (made.status !== 200) return note("anonymous commit", made.status);
    const view = (await made.json()) as { sid: string; version: number };
    const res = await api("POST", `${app}/sessions/${key}/sign-in`, {
      user,
      labels: { device: key },
      changes: { version: view.version, sid: view.sid },
    });
    counts.operations++;
    if (res.status === 409) {
      counts.signInConflicts++;
      await res.arrayBuffer();
      return;
    }
    if (res.status !== 200) return note("sign-in", res.status);
    const session = (await res.json()) as { key: string };
    counts.signIns++;
    signed.push({ key: session.key, user, answered: ++tick, signedOut: false });
  };
  const endAll = async (user: string): Promise<void> => {
    endAllBegan.set(user, [...(endAllBegan.get(user) ?? []), ++tick]);
    const res = await api("DELETE", `${app}/users/${encodeURIComponent(user)}/sessions`);
    counts.operations++;
    if (res.status === 404) {
      await res.arrayBuffer();
      return;
    }
    if (res.status !== 200) return note("end all", res.status);
    counts.endAlls++;
    counts.endedByEndAll += ((await res.json()) as { ended: number }).ended;
  };
  const signOut = async (): Promise<void> => {
    const mine = signed[Math.floor(Math.random() * signed.length)];
    if (mine === undefined || mine.signedOut) return;
    mine.signedOut = true;
    const res = await api("DELETE", `${app}/sessions/${mine.key}`);
    counts.operations++;
    await res.arrayBuffer();
    if (res.status === 204) counts.signOuts++;
    else if (res.status !== 404) note("sign-out", res.status);
  };
  const list = async (user: string): Promise<void> => {
    const res = await api("GET", `${app}/users/${encodeURIComponent(user)}/sessions`);
    counts.operations++;
    await res.arrayBuffer();
    if (res.status === 200 || res.status === 404) counts.listings++;
    else note("listing", res.status);
  };
  const client = async (): Promise<void> => {
    while (!stop) {
      const user = USERS[Math.floor(Math.random() * USERS.length)] as string;
      const roll = Math.random();
      if (roll < 0.6) await signIn(user);
      else if (roll < 0.65) await endAll(user);
      else if (roll < 0.75) await signOut();
      else await list(user);
    }
  };

  const stats = async (): Promise<Stats> => {
    const res = await api("GET", app);
    if (res.status !== 200) throw new Error(`stats: ${res.status} ${await res.text()}`);
    return (await res.json()) as Stats;
  };
  const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const moves: { from: number; to: number; seconds: number }[] = [];
  const clients = Array.from({ length: CONCURRENCY }, () => client());
  let shards = 2;
  try {
    await pause(PAUSE_SECONDS);
    for (const target of STEPS) {
      const t = Date.now();
      const put = await api("PUT", app, { shards: target });
      if (put.status !== 200) throw new Error(`reshard to ${target}: ${put.status}`);
      for (;;) {
        const now = await stats();
        if (now.layout.shards === target && now.layout.from === null) break;
        if (Date.now() - t > MOVE_LIMIT_SECONDS * 1000) {
          throw new Error(`the move to ${target} shards did not end in ${MOVE_LIMIT_SECONDS} s`);
        }
        await pause(0.1);
      }
      moves.push({ from: shards, to: target, seconds: Math.round((Date.now() - t) / 100) / 10 });
      shards = target;
      await pause(PAUSE_SECONDS);
    }
  } finally {
    stop = true;
    await Promise.all(clients);
  }

  // 0 survivors: answered before an "end all" of its user began, and found afterwards.
  const live = new Map<string, string[]>(USERS.map((u) => [u, []]));
  let survivors = 0;
  for (const s of signed) {
    const res = await api("GET", `${app}/sessions/${s.key}`);
    await res.arrayBuffer();
    if (res.status === 200) {
      live.get(s.user)?.push(s.key);
      const ended = (endAllBegan.get(s.user) ?? []).some((began) => began > s.answered);
      if (ended) survivors++;
    } else if (res.status !== 404) {
      note("final read", res.status);
    }
  }
  // 0 missing: each listing holds exactly the live sessions; a full scan finds no other.
  let missingFromListing = 0;
  let extraInListing = 0;
  for (const user of USERS) {
    const res = await api("GET", `${app}/users/${encodeURIComponent(user)}/sessions`);
    const listed =
      res.status === 200 ? ((await res.json()) as { sessions: unknown[] }).sessions.length : 0;
    if (res.status !== 200) await res.arrayBuffer();
    const expected = live.get(user)?.length ?? 0;
    if (listed < expected) missingFromListing += expected - listed;
    if (listed > expected) extraInListing += listed - expected;
  }
  const objects = [USERS_APP, ...Array.from({ length: 8 }, (_, i) => `${USERS_APP}#${i}`)];
  const scanned = await Promise.all(
    objects.map(async (name) => {
      const s = (await soak.call(name, "stats", USERS_APP)) as { value?: { sessions: number } };
      return s.value?.sessions ?? 0;
    }),
  );
  const stored = scanned.reduce((a, b) => a + b, 0);
  const liveTotal = [...live.values()].reduce((a, b) => a + b.length, 0);

  // Then everything ends, and every event is delivered.
  await Promise.all(objects.map((name) => soak.call(name, "setClock", LATER)));
  for (let round = 0; round < 50; round++) {
    const ended = await Promise.all(objects.map((name) => soak.call(name, "sweep", USERS_APP)));
    if (ended.every((r) => (r as { value?: number }).value === 0)) break;
  }
  let deliveries: SoakDelivery[] = [];
  for (let i = 0; i < 150; i++) {
    const pending = await Promise.all(
      objects.map(async (name) => {
        const s = (await soak.call(name, "stats", USERS_APP)) as {
          value?: { pendingEvents: number };
        };
        return s.value?.pendingEvents ?? 0;
      }),
    );
    deliveries = (await soak.deliveries()).filter((d) => d.body.app === USERS_APP);
    const ids = new Set(deliveries.map((d) => d.body.id));
    const begins = [...ids].filter((id) => id.endsWith(":begin")).length;
    const ends = [...ids].filter((id) => id.endsWith(":end")).length;
    if (pending.every((p) => p === 0) && begins === ends && begins > 0) break;
    await pause(0.2);
  }
  const outcome = eventInvariants(deliveries, new Map(), []);
  const reasons: Record<string, number> = {};
  for (const d of new Map(deliveries.map((x) => [x.body.id, x.body])).values()) {
    if (d.type === "end") reasons[d.reason ?? "?"] = (reasons[d.reason ?? "?"] ?? 0) + 1;
  }

  return {
    users: USERS.length,
    concurrency: CONCURRENCY,
    steps: [2, ...STEPS].join(" -> "),
    moves,
    ...counts,
    unexpected,
    survivors,
    missingFromListing,
    extraInListing,
    liveAtEnd: liveTotal,
    storedAtEnd: stored,
    endReasons: reasons,
    ...outcome,
    wallSeconds: Math.round((Date.now() - started) / 1000),
  };
}
