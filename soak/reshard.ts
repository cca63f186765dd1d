// The soak's resharding phase: an app with thousands of stored sessions, read and committed by
// concurrent clients over HTTP, is resharded 1 → 4 → 16 → 3 (each move waited for before the
// next), then every session ends. Invariants:
//   - no lost update: each session's counter (in the store, or in its end event) equals the
//     increments acknowledged for it;
//   - every stored session had exactly one begin and got exactly one end (a move is neither);
//     a second, different begin or end of one session fails the phase (soak/invariants.ts);
//   - no read of a live session was answered "not found" (a session is live from the first
//     acknowledged commit until an invalidation of it is sent; nothing expires in the phase);
//   - the app's figures (GET /v1/apps/:app/metrics) agree: live sessions with a full scan after
//     the moves, sessions created and ended by reason with the events delivered, at the end.

import { eventInvariants, type SoakDelivery } from "./invariants.ts";

/** What the phase needs of the soak: HTTP calls to the worker, RPC calls to objects, events. */
export interface SoakContext {
  api(method: string, path: string, body?: unknown): Promise<Response>;
  call(name: string, method: string, ...args: unknown[]): Promise<unknown>;
  /** Every delivery the Queue made so far, of every app. */
  deliveries(): Promise<SoakDelivery[]>;
}

export const RESHARD_APP = "soak-reshard";
/** The shard counts the phase goes through, from 1. */
const STEPS = [4, 16, 3];
/** Sessions stored before the clients start (the drain moves most of them). */
const SEEDED = 6_000;
/** Keys the clients read and change (the first ones of the seeded). */
const HOT_KEYS = 400;
const CONCURRENCY = 64;
/** Seconds of traffic before the first move and between moves. */
const PAUSE_SECONDS = 3;
/** A move that takes longer than this fails the phase. */
const MOVE_LIMIT_SECONDS = 60;
/** Far past every session's expiry: the clock all objects are set to at the end. */
const LATER = 4_000_000_000;

interface View {
  sid: string | null;
  version: number;
  data: { n?: number };
}

interface Layout {
  epoch: number;
  shards: number;
  from: number | null;
}

/** The part of the app's figures (GET /v1/apps/:app/metrics) the phase checks. */
interface Figures {
  live: number;
  totals: { created: number; ended: Record<string, number> };
  shards: { missing: string[] };
}

/** An object's keys in order, so two tallies compare as JSON. */
function sorted(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

interface Stats {
  sessions: number;
  layout: Layout;
}

export async function reshardPhase(soak: SoakContext) {
  const { api } = soak;
  const started = Date.now();
  const open = await api("PUT", `/v1/apps/${RESHARD_APP}`, {
    shards: 1,
    timeout: 3600,
    period: 10,
    beginEvents: true,
  });
  if (open.status !== 200) throw new Error(`configure: ${open.status} ${await open.text()}`);
  // Seeded through the real commit path in the home object, counter 0 each.
  for (let start = 0; start < SEEDED; start += 1000) {
    await soak.call(
      RESHARD_APP,
      "seed",
      RESHARD_APP,
      { prefix: "r", start, count: 1000 },
      { n: 0 },
    );
  }

  const counts = {
    operations: 0,
    reads: 0,
    commits: 0,
    conflictsRetried: 0,
    invalidations: 0,
    unexpectedStatuses: 0,
    liveReadsNotFound: 0,
  };
  /** Increments acknowledged, by sid. */
  const acknowledged = new Map<string, number>();
  /** Per key: whether a session is known live, and how many invalidations were sent. */
  const live = new Map<string, boolean>();
  const invalidationsSent = new Map<string, number>();
  for (let i = 0; i < SEEDED; i++) live.set(`r${i}`, true);

  let stop = false;
  const increment = async (key: string): Promise<void> => {
    for (;;) {
      // An invalidation sent while this commit is in flight may land after it: then the session
      // this commit stored is gone, and it must not count as live.
      const sentBefore = invalidationsSent.get(key) ?? 0;
      const got = await api("POST", `/v1/apps/${RESHARD_APP}/sessions/${key}`);
      if (got.status !== 200) {
        counts.unexpectedStatuses++;
        await got.arrayBuffer();
        return;
      }
      const view = (await got.json()) as View;
      const res = await api("PATCH", `/v1/apps/${RESHARD_APP}/sessions/${key}`, {
        version: view.version,
        sid: view.sid,
        set: { n: (view.data.n ?? 0) + 1 },
      });
      counts.operations += 2;
      if (res.status === 409) {
        await res.arrayBuffer();
        counts.conflictsRetried++;
        continue;
      }
      if (res.status !== 200) {
        counts.unexpectedStatuses++;
        await res.arrayBuffer();
        return;
      }
      const stored = (await res.json()) as View;
      counts.commits++;
      const sid = stored.sid as string;
      acknowledged.set(sid, (acknowledged.get(sid) ?? 0) + 1);
      if ((invalidationsSent.get(key) ?? 0) === sentBefore) live.set(key, true);
      return;
    }
  };
  const client = async (): Promise<void> => {
    while (!stop) {
      const key = `r${Math.floor(Math.random() * HOT_KEYS)}`;
      const roll = Math.random();
      if (roll < 0.55) {
        const wasLive = live.get(key) === true;
        const sentBefore = invalidationsSent.get(key) ?? 0;
        const res = await api("GET", `/v1/apps/${RESHARD_APP}/sessions/${key}`);
        await res.arrayBuffer();
        counts.operations++;
        counts.reads++;
        if (res.status === 404) {
          // Not found is wrong for a session known live before the read began and not
          // invalidated since.
          if (wasLive && (invalidationsSent.get(key) ?? 0) === sentBefore) {
            counts.liveReadsNotFound++;
          }
        } else if (res.status !== 200) {
          counts.unexpectedStatuses++;
        }
      } else if (roll < 0.98) {
        await increment(key);
      } else {
        live.set(key, false);
        invalidationsSent.set(key, (invalidationsSent.get(key) ?? 0) + 1);
        const res = await api("DELETE", `/v1/apps/${RESHARD_APP}/sessions/${key}`);
        await res.arrayBuffer();
        counts.operations++;
        if (res.status === 204) counts.invalidations++;
        else if (res.status !== 404) counts.unexpectedStatuses++;
      }
    }
  };

  const stats = async (): Promise<Stats> => {
    const res = await api("GET", `/v1/apps/${RESHARD_APP}`);
    if (res.status !== 200) throw new Error(`stats: ${res.status} ${await res.text()}`);
    return (await res.json()) as Stats;
  };
  const figures = async (): Promise<Figures> => {
    const res = await api("GET", `/v1/apps/${RESHARD_APP}/metrics`);
    if (res.status !== 200) throw new Error(`metrics: ${res.status} ${await res.text()}`);
    return (await res.json()) as Figures;
  };
  const objects = [RESHARD_APP, ...Array.from({ length: 16 }, (_, i) => `${RESHARD_APP}#${i}`)];
  /** Sessions taken in by any of the app's objects since they started. */
  const movedIn = async (): Promise<number> => {
    const all = await Promise.all(
      objects.map(
        async (name) =>
          (await soak.call(name, "stats", RESHARD_APP)) as { value?: { moved?: { in: number } } },
      ),
    );
    return all.reduce((sum, s) => sum + (s.value?.moved?.in ?? 0), 0);
  };
  const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

  const moves: {
    from: number;
    to: number;
    seconds: number;
    sessionsMoved: number;
    operationsPerSecond: number;
  }[] = [];
  const clients = Array.from({ length: CONCURRENCY }, () => client());
  const trafficStarted = Date.now();
  let before = counts.operations;
  await pause(PAUSE_SECONDS);
  const quietOpsPerSecond = (counts.operations - before) / PAUSE_SECONDS;
  let shards = 1;
  try {
    for (const target of STEPS) {
      const movedBefore = await movedIn();
      before = counts.operations;
      const t = Date.now();
      const put = await api("PUT", `/v1/apps/${RESHARD_APP}`, { shards: target });
      if (put.status !== 200) throw new Error(`reshard to ${target}: ${put.status}`);
      for (;;) {
        const now = await stats();
        if (now.layout.shards === target && now.layout.from === null) {
          const seconds = (Date.now() - t) / 1000;
          moves.push({
            from: shards,
            to: target,
            seconds: Math.round(seconds * 10) / 10,
            sessionsMoved: (await movedIn()) - movedBefore,
            operationsPerSecond: Math.round((counts.operations - before) / seconds),
          });
          break;
        }
        if (Date.now() - t > MOVE_LIMIT_SECONDS * 1000) {
          throw new Error(`the move to ${target} shards did not end in ${MOVE_LIMIT_SECONDS} s`);
        }
        await pause(0.1);
      }
      shards = target;
      await pause(PAUSE_SECONDS);
    }
  } finally {
    stop = true;
    await Promise.all(clients);
  }
  const trafficSeconds = (Date.now() - trafficStarted) / 1000;

  // Each live session's counter equals its acknowledged increments; seeded ones start at 0.
  let checked = 0;
  const lostInStore: string[] = [];
  let next = 0;
  const checker = async () => {
    for (let i = next++; i < SEEDED; i = next++) {
      const res = await api("GET", `/v1/apps/${RESHARD_APP}/sessions/r${i}`);
      if (res.status === 404) {
        await res.arrayBuffer();
        if (live.get(`r${i}`) === true) counts.liveReadsNotFound++;
        continue;
      }
      const view = (await res.json()) as View;
      checked++;
      if ((view.data.n ?? 0) !== (acknowledged.get(view.sid as string) ?? 0)) {
        lostInStore.push(`r${i}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, checker));
  const storedAfter = (await stats()).sessions;
  // The app's figures against a full scan (every object's stored sessions; none expired yet).
  const liveFigure = (await figures()).live;

  // Then everything ends: every object's clock moves past every expiry, and it sweeps.
  await Promise.all(objects.map((name) => soak.call(name, "setClock", LATER)));
  for (let round = 0; round < 50; round++) {
    const ended = await Promise.all(objects.map((name) => soak.call(name, "sweep", RESHARD_APP)));
    if (ended.every((r) => (r as { value?: number }).value === 0)) break;
  }
  let deliveries: SoakDelivery[] = [];
  for (let i = 0; i < 150; i++) {
    const pending = await Promise.all(
      objects.map(async (name) => {
        const s = (await soak.call(name, "stats", RESHARD_APP)) as {
          value?: { pendingEvents: number };
        };
        return s.value?.pendingEvents ?? 0;
      }),
    );
    deliveries = (await soak.deliveries()).filter((d) => d.body.app === RESHARD_APP);
    const ids = new Set(deliveries.map((d) => d.body.id));
    const begins = [...ids].filter((id) => id.endsWith(":begin")).length;
    const ends = [...ids].filter((id) => id.endsWith(":end")).length;
    if (pending.every((n) => n === 0) && begins === ends && begins > 0) break;
    await pause(0.2);
  }
  const outcome = eventInvariants(deliveries, acknowledged, lostInStore);
  // The app's counts against the soak's own tally of the events delivered (each id once).
  const final = await figures();
  const tally = { created: 0, ended: {} as Record<string, number> };
  for (const body of new Map(deliveries.map((d) => [d.body.id, d.body])).values()) {
    if (body.type === "begin") tally.created++;
    else tally.ended[body.reason ?? ""] = (tally.ended[body.reason ?? ""] ?? 0) + 1;
  }
  const endedFigures = Object.fromEntries(
    Object.entries(final.totals.ended).filter(([, n]) => n > 0),
  );
  const figuresMatch = {
    live: liveFigure === storedAfter,
    created: final.totals.created === tally.created,
    ended: JSON.stringify(sorted(endedFigures)) === JSON.stringify(sorted(tally.ended)),
    shardsMissing: final.shards.missing.length,
  };

  return {
    seeded: SEEDED,
    hotKeys: HOT_KEYS,
    concurrency: CONCURRENCY,
    steps: [1, ...STEPS].join(" -> "),
    moves,
    quietOperationsPerSecond: Math.round(quietOpsPerSecond),
    trafficSeconds: Math.round(trafficSeconds),
    ...counts,
    liveSessionsChecked: checked,
    sessionsStoredAfterMoves: storedAfter,
    figures: {
      live: liveFigure,
      created: final.totals.created,
      ended: endedFigures,
      tally,
      match: figuresMatch,
    },
    ...outcome,
    wallSeconds: Math.round((Date.now() - started) / 1000),
  };
}
