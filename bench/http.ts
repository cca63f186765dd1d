// The worker over HTTP against a constant route and express-session + connect-redis + Redis, and
// the lost-update test. Loads come from one separate autocannon process.
import type { BenchWorker } from "./driver.ts";
import { record } from "./figures.ts";
import type { Plan } from "./plan.ts";
import type { Load } from "./processes.ts";
import { CONCURRENCY } from "./rpc.ts";
import { ratios } from "./stats.ts";

/** The lost-update test: clients, each incrementing one shared counter this many times. */
export const LOST_CLIENTS = 8;
export const LOST_INCREMENTS = 25;

/**
 * Every target once per round, `seconds` each, in an order that turns back every other round:
 * a ratio is computed round by round from two loads made one after the other, so drift of the
 * machine falls on both of its figures.
 */
export async function benchHttp(
  worker: BenchWorker,
  load: Load,
  expressUrl: string,
  plan: Plan,
): Promise<void> {
  const { base, auth } = worker;
  // A stored session to read, created through the API itself.
  const sessionUrl = `${base}/v1/apps/bench/sessions/k`;
  const got = await fetch(sessionUrl, { method: "POST", headers: auth });
  const snapshot = (await got.json()) as { version: number; sid: string | null };
  const patched = await fetch(sessionUrl, {
    method: "PATCH",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ version: snapshot.version, sid: snapshot.sid, set: { counter: 1 } }),
  });
  if (!patched.ok)
    throw new Error(`PATCH ${sessionUrl}: ${patched.status} ${await patched.text()}`);
  const read = await fetch(sessionUrl, { headers: auth });
  if (!read.ok) throw new Error(`GET ${sessionUrl}: ${read.status} ${await read.text()}`);
  await read.arrayBuffer();

  const started = await fetch(`${expressUrl}/reset`);
  const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  if (!cookie.startsWith("connect.sid=")) throw new Error("the express app set no session cookie");
  const check = (await (await fetch(expressUrl, { headers: { Cookie: cookie } })).json()) as {
    counter: number | null;
  };
  if (check.counter !== 0) throw new Error("the express app did not keep its session");

  // In this order, forwards in even rounds and backwards in odd ones, so that the two figures of
  // each ratio are measured next to each other (read and express, read and its floor, plain and
  // auth) and each goes first as often as second.
  const targets: Record<string, [string, Record<string, string>]> = {
    express: [`${expressUrl}/`, { Cookie: cookie }],
    read: [sessionUrl, auth],
    // The read's floor: the same auth, route and router, one empty call to the session's object.
    floor: [`${base}/bench-http/floor/apps/bench/sessions/k`, auth],
    plain: [`${base}/healthz`, {}],
  };
  if (plan.http.probes) {
    // The read in parts: the bearer auth alone, the DO query alone (bench/worker.ts).
    targets.auth = [`${base}/bench-http/auth`, auth];
    // The same app and answer as `auth`, without the auth (`plain` is the real worker's app).
    targets.noauth = [`${base}/bench-http/plain`, auth];
    targets.query = [`${base}/bench-http/query/bench/k`, {}];
  }
  for (const [url, headers] of Object.values(targets)) {
    await load(url, plan.http.warmupSeconds, CONCURRENCY, headers);
  }
  const labels = Object.keys(targets);
  const rps: Record<string, number[]> = Object.fromEntries(labels.map((l) => [l, []]));
  const p50: Record<string, number[]> = Object.fromEntries(labels.map((l) => [l, []]));
  for (let round = 0; round < plan.http.rounds; round++) {
    const order = round % 2 === 0 ? labels : [...labels].reverse();
    for (const label of order) {
      const [url, headers] = targets[label] as [string, Record<string, string>];
      const result = await load(url, plan.http.seconds, CONCURRENCY, headers);
      rps[label]?.push(result.requestsPerSecond);
      p50[label]?.push(result.latencyMs.p50);
    }
  }
  const plain = rps.plain ?? [];
  record("http_plain_req_per_s", plain);
  record("http_read_req_per_s", rps.read ?? []);
  record("express_redis_read_req_per_s", rps.express ?? []);
  record("http_floor_req_per_s", rps.floor ?? []);
  record("http_read_vs_plain_ratio", ratios(rps.read ?? [], plain));
  record("http_read_vs_do_ping_ratio", ratios(rps.read ?? [], rps.floor ?? []));
  record("http_read_vs_express_redis_ratio", ratios(rps.read ?? [], rps.express ?? []));
  if (plan.http.probes) {
    record("diag_http_auth_vs_plain_ratio", ratios(rps.auth ?? [], plain));
    record("diag_http_auth_vs_noauth_ratio", ratios(rps.auth ?? [], rps.noauth ?? []));
    record("diag_http_noauth_vs_plain_ratio", ratios(rps.noauth ?? [], plain));
    record("diag_http_query_no_auth_vs_plain_ratio", ratios(rps.query ?? [], plain));
  }
  record("http_plain_p50_ms", p50.plain ?? []);
  record("http_read_p50_ms", p50.read ?? []);
  record("express_redis_read_p50_ms", p50.express ?? []);
}

/** N clients incrementing one shared counter M times each: ours (versions, 409, retry) vs express. */
export async function benchLostUpdates(worker: BenchWorker, expressUrl: string): Promise<void> {
  const { base, auth } = worker;
  const url = `${base}/v1/apps/lost/sessions/counter`;
  const json = { ...auth, "Content-Type": "application/json" };
  const fresh = (await (await fetch(url, { method: "POST", headers: auth })).json()) as {
    version: number;
    sid: string | null;
  };
  const start = await fetch(url, {
    method: "PATCH",
    headers: json,
    body: JSON.stringify({ version: fresh.version, sid: fresh.sid, set: { counter: 0 } }),
  });
  if (!start.ok) throw new Error(`PATCH ${url}: ${start.status}`);
  await start.arrayBuffer();

  let conflicts = 0;
  await Promise.all(
    Array.from({ length: LOST_CLIENTS }, async () => {
      for (let i = 0; i < LOST_INCREMENTS; i++) {
        for (let attempt = 0; ; attempt++) {
          if (attempt > 1000) throw new Error("an increment kept conflicting");
          const response = await fetch(url, { headers: auth });
          const session = (await response.json()) as {
            version: number;
            sid: string;
            data: { counter: number };
          };
          const patched = await fetch(url, {
            method: "PATCH",
            headers: json,
            body: JSON.stringify({
              version: session.version,
              sid: session.sid,
              set: { counter: session.data.counter + 1 },
            }),
          });
          await patched.arrayBuffer();
          if (patched.status === 409) {
            conflicts++;
            continue;
          }
          if (!patched.ok) throw new Error(`PATCH ${url}: ${patched.status}`);
          break;
        }
      }
    }),
  );
  const final = (await (await fetch(url, { headers: auth })).json()) as {
    data: { counter: number };
  };
  const expected = LOST_CLIENTS * LOST_INCREMENTS;
  record("lost_updates_ours", [expected - final.data.counter]);
  record("lost_updates_ours_conflicts_retried", [conflicts]);

  const started = await fetch(`${expressUrl}/reset`);
  const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  await started.arrayBuffer();
  await Promise.all(
    Array.from({ length: LOST_CLIENTS }, async () => {
      for (let i = 0; i < LOST_INCREMENTS; i++) {
        const response = await fetch(`${expressUrl}/incr`, { headers: { Cookie: cookie } });
        if (!response.ok) throw new Error(`express /incr: ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
  const after = (await (await fetch(expressUrl, { headers: { Cookie: cookie } })).json()) as {
    counter: number;
  };
  record("lost_updates_express_redis", [expected - after.counter]);
}
