// `npm run soak`: mixed traffic at high concurrency against the real worker in a local workerd
// for a bounded time (default 20 s; `-- --seconds N`), with the clock moved so that sessions
// expire, then the invariants:
//   - every acknowledged commit is stored: each session's counter (in the store, or in its end
//     event) equals the increments acknowledged for it;
//   - every stored session had exactly one begin and got exactly one end: a delivery of the same
//     message again, or of the same event (equal in every field) in another message, is what the
//     Queue's at-least-once delivery and the outbox's resend explain; two different begins or
//     ends for one session are a failure, named by event id (soak/invariants.ts);
//   - nothing lost.
// Then the resharding phase (soak/reshard.ts): a busy app goes 1 -> 4 -> 16 -> 3 shards while
// clients read and commit, with the same invariants and no read of a live session answered
// "not found". `-- --reshard-only` runs that phase alone.
// Last, the users phase (soak/users.ts): clients sign a few users in and out, "end all" runs at
// random, the app goes 2 -> 8 -> 3 shards: 0 survivors of an "end all", 0 sessions missing from
// a listing, one begin and one end per session. `-- --users-only` runs that phase alone.
// Prints the counts and exits non-zero when an invariant fails. Binds only to 127.0.0.1.
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LogLevel } from "miniflare";
import { T0 } from "../bench/rpc.ts";
import { type LocalWorker, startLocalWorker } from "../bench/workerd.ts";
import { eventInvariants, type SoakDelivery } from "./invariants.ts";
import { reshardPhase } from "./reshard.ts";
import { usersPhase } from "./users.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argSeconds = process.argv.indexOf("--seconds");
const SECONDS = argSeconds > 0 ? Number(process.argv[argSeconds + 1]) : 20;
const RESHARD_ONLY = process.argv.includes("--reshard-only");
const USERS_ONLY = process.argv.includes("--users-only");
const CONCURRENCY = 64;
const KEYS = 400;
const APP = "soak";
const SHARDS = 4;
const TIMEOUT = 60;
const PERIOD = 10;
/** Fake seconds the clock moves every `TICK_MS` of real time: a key idle for 3 ticks expires. */
const TICK_SECONDS = 25;
const TICK_MS = 1_000;

const token = randomBytes(16).toString("hex");
const auth = { Authorization: `Bearer ${token}` };
let base = "";
let local: LocalWorker | undefined;

async function start(): Promise<void> {
  local = await startLocalWorker({
    root,
    entry: "soak/worker.ts",
    name: "soak",
    logLevel: LogLevel.ERROR,
    bindings: { SESSIONS_API_TOKEN: token, ENVIRONMENT: "soak" },
    durableObjects: {
      SESSION_MANAGER: { className: "BenchSessionManagerObject", useSQLite: true },
      EVENT_LOG: { className: "EventLog", useSQLite: true },
    },
    queueProducers: { SESSION_EVENTS: { queueName: "soak-events" } },
    queueConsumers: { "soak-events": { maxBatchSize: 100, maxBatchTimeout: 0.05 } },
  });
  base = local.base;
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(base + path, {
    method,
    headers: body === undefined ? auth : { ...auth, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** One RPC call on a session manager object, made from inside workerd. */
async function call(name: string, method: string, ...args: unknown[]): Promise<unknown> {
  const res = await api("POST", "/bench/call", { name, method, args });
  if (!res.ok) throw new Error(`${method} on ${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { value: unknown }).value;
}

const objects = [APP, ...Array.from({ length: SHARDS }, (_, i) => `${APP}#${i}`)];
let now = T0;
async function setClock(seconds: number): Promise<void> {
  now = seconds;
  await Promise.all(objects.map((name) => call(name, "setClock", seconds)));
}
async function sweepAll(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const ended = await Promise.all(objects.slice(1).map((name) => call(name, "sweep", APP)));
    if (ended.every((r) => (r as { value?: number }).value === 0)) return;
  }
}

const counts = {
  operations: 0,
  reads: 0,
  commits: 0,
  conflictsRetried: 0,
  invalidations: 0,
  clockTicks: 0,
  unexpectedStatuses: 0,
};
/** Increments acknowledged (200 to a PATCH), by the sid of the session they went into. */
const acknowledged = new Map<string, number>();

interface View {
  sid: string | null;
  version: number;
  data: { n?: number };
}

async function increment(key: string): Promise<void> {
  for (;;) {
    const got = await api("POST", `/v1/apps/${APP}/sessions/${key}`);
    const view = (await got.json()) as View;
    const res = await api("PATCH", `/v1/apps/${APP}/sessions/${key}`, {
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
    acknowledged.set(stored.sid as string, (acknowledged.get(stored.sid as string) ?? 0) + 1);
    return;
  }
}

async function client(until: number): Promise<void> {
  while (Date.now() < until) {
    const key = `k${Math.floor(Math.random() * KEYS)}`;
    const roll = Math.random();
    if (roll < 0.5) {
      const res = await api("GET", `/v1/apps/${APP}/sessions/${key}`);
      await res.arrayBuffer();
      counts.operations++;
      counts.reads++;
      if (res.status !== 200 && res.status !== 404) counts.unexpectedStatuses++;
    } else if (roll < 0.97) {
      await increment(key);
    } else {
      const res = await api("DELETE", `/v1/apps/${APP}/sessions/${key}`);
      await res.arrayBuffer();
      counts.operations++;
      if (res.status === 204) counts.invalidations++;
      else if (res.status !== 404) counts.unexpectedStatuses++;
    }
  }
}

async function main(): Promise<void> {
  await start();
  if (!USERS_ONLY) await firstPhases();
  if (!RESHARD_ONLY) await runUsersPhase();
}

/** The users phase, and its verdict. */
async function runUsersPhase(): Promise<void> {
  const users = await usersPhase({
    api,
    call,
    deliveries: async () => (await (await api("GET", "/soak/events")).json()) as SoakDelivery[],
  });
  console.log(JSON.stringify({ users }, null, 2));
  if (
    users.survivors > 0 ||
    users.missingFromListing > 0 ||
    users.extraInListing > 0 ||
    users.storedAtEnd !== users.liveAtEnd ||
    users.eventsTwice > 0 ||
    users.unexpectedStatuses > 0 ||
    users.sessionsBegun !== users.sessionsEnded
  ) {
    console.error(
      "soak: an invariant of the users phase failed (see survivors / missingFromListing / extraInListing / storedAtEnd / eventsTwice / unexpectedStatuses)",
    );
    process.exitCode = 1;
  } else {
    console.log(
      `soak (users, ${users.steps} shards): ${users.signIns} sign-ins, ${users.endAlls} "end all" ending ${users.endedByEndAll}, 0 survivors, 0 missing from a listing, ${users.sessionsBegun} sessions begun and ended`,
    );
  }
}

/** The steady phase (unless `--reshard-only`), then the resharding phase, and their verdicts. */
async function firstPhases(): Promise<void> {
  if (!RESHARD_ONLY) await steadyPhase();
  const reshard = await reshardPhase({
    api,
    call,
    deliveries: async () => (await (await api("GET", "/soak/events")).json()) as SoakDelivery[],
  });
  console.log(JSON.stringify({ resharding: reshard }, null, 2));
  if (
    reshard.lost > 0 ||
    reshard.eventsTwice > 0 ||
    reshard.unexpectedStatuses > 0 ||
    reshard.liveReadsNotFound > 0 ||
    !reshard.figures.match.live ||
    !reshard.figures.match.created ||
    !reshard.figures.match.ended ||
    reshard.figures.match.shardsMissing > 0
  ) {
    console.error(
      "soak: an invariant of the resharding phase failed (see lost / eventsTwice / unexpectedStatuses / liveReadsNotFound / figures.match)",
    );
    if (reshard.eventsTwice > 0) {
      console.error(
        `soak: sessions that began or ended twice: ${reshard.eventsTwiceIds.join(", ")}`,
      );
    }
    process.exitCode = 1;
  } else {
    const moved = reshard.moves.map((m) => `${m.from}->${m.to} in ${m.seconds} s`).join(", ");
    console.log(
      `soak (resharding ${reshard.steps}): ${moved}; ${reshard.operations} operations, ${reshard.sessionsBegun} sessions begun and ended, 0 lost, no live session read as not found; figures: ${reshard.figures.live} live as a full scan found, ${reshard.figures.created} created and ${JSON.stringify(reshard.figures.ended)} ended as the events delivered`,
    );
  }
}

/** The first phase: mixed traffic on a 4-shard app whose sessions expire and are swept. */
async function steadyPhase(): Promise<void> {
  const started = Date.now();
  const open = await api("PUT", `/v1/apps/${APP}`, {
    shards: SHARDS,
    timeout: TIMEOUT,
    period: PERIOD,
    beginEvents: true,
  });
  if (open.status !== 200) throw new Error(`configure: ${open.status} ${await open.text()}`);
  await setClock(T0);

  const until = Date.now() + SECONDS * 1000;
  const ticker = (async () => {
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      await setClock(now + TICK_SECONDS);
      await sweepAll();
      counts.clockTicks++;
    }
  })();
  await Promise.all([ticker, ...Array.from({ length: CONCURRENCY }, () => client(until))]);

  // Before everything ends: each live session's counter equals its acknowledged increments.
  let checked = 0;
  const lostInStore: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const res = await api("GET", `/v1/apps/${APP}/sessions/k${i}`);
    if (res.status === 404) continue;
    const view = (await res.json()) as View;
    checked++;
    if ((view.data.n ?? 0) !== (acknowledged.get(view.sid as string) ?? 0))
      lostInStore.push(`k${i}`);
  }

  // Then everything expires, and every event is delivered.
  await setClock(now + 10 * TIMEOUT);
  await sweepAll();
  let deliveries: SoakDelivery[] = [];
  for (let i = 0; i < 100; i++) {
    const pending = await Promise.all(
      objects.slice(1).map(async (name) => {
        const stats = (await call(name, "stats", APP)) as { value?: { pendingEvents: number } };
        return stats.value?.pendingEvents ?? 0;
      }),
    );
    deliveries = (await (await api("GET", "/soak/events")).json()) as SoakDelivery[];
    const unique = new Map(deliveries.map((d) => [d.body.id, d.body]));
    const begins = [...unique.keys()].filter((id) => id.endsWith(":begin")).length;
    const ends = [...unique.keys()].filter((id) => id.endsWith(":end")).length;
    if (pending.every((n) => n === 0) && begins === ends) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const outcome = eventInvariants(deliveries, acknowledged, lostInStore);

  const figures = {
    date: new Date().toISOString(),
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    ...counts,
    operationsPerSecond: Math.round(counts.operations / SECONDS),
    liveSessionsChecked: checked,
    ...outcome,
    wallSeconds: Math.round((Date.now() - started) / 1000),
  };
  console.log(JSON.stringify(figures, null, 2));
  if (outcome.lost > 0 || outcome.eventsTwice > 0 || counts.unexpectedStatuses > 0) {
    console.error("soak: an invariant failed (see lost / eventsTwice / unexpectedStatuses)");
    if (outcome.eventsTwice > 0) {
      console.error(
        `soak: sessions that began or ended twice: ${outcome.eventsTwiceIds.join(", ")}`,
      );
    }
    process.exitCode = 1;
  } else {
    console.log(
      `soak: ${counts.operations} operations, ${counts.conflictsRetried} conflicts retried, ${outcome.sessionsBegun} sessions begun and ended, ${outcome.eventsDelivered} events delivered, 0 lost`,
    );
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await local?.dispose();
  });
