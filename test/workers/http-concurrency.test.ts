// Concurrent commits over HTTP (docs/DESIGN.md#commit-and-merge): competing changes from one snapshot, and the
// read-modify-write loop that a client runs to get every change in.
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

interface Session {
  sid: string | null;
  version: number;
  data: { counter?: number };
}

async function start(app: string): Promise<Session> {
  const res = await call("PATCH", `/v1/apps/${app}/sessions/tally`, {
    version: 0,
    set: { counter: 0 },
  });
  return (await res.json()) as Session;
}

/** One more on the counter of `session`, as read. */
function increment(session: Session) {
  return {
    version: session.version,
    sid: session.sid,
    set: { counter: (session.data.counter ?? 0) + 1 },
  };
}

const WRITERS = Array.from({ length: 10 }, (_, i) => i);

describe("concurrent PATCHes of one session", () => {
  it("lets exactly one of ten increments from one version through; the rest get 409", async () => {
    const app = "concurrent-once";
    const session = await start(app);
    // All ten write counter = 1: each is an increment, so all but one would be lost.
    const results = await Promise.all(
      WRITERS.map(() => call("PATCH", `/v1/apps/${app}/sessions/tally`, increment(session))),
    );
    const statuses = results.map((res) => res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);

    const conflict = (await results[statuses.indexOf(409)]?.json()) as {
      error: { code: string; keys: string[] };
      current: Session;
    };
    expect(conflict.error.code).toBe("conflict");
    expect(conflict.error.keys).toEqual(["counter"]);
    expect(conflict.current).toMatchObject({ version: 2, data: { counter: 1 } });
  });

  it("gets every change in when each writer retries from the session the 409 carries", async () => {
    const app = "concurrent-retry";
    await start(app);
    const path = `/v1/apps/${app}/sessions/tally`;
    let conflicts = 0;

    async function writer(read: Session): Promise<void> {
      let session = read;
      for (;;) {
        const res = await call("PATCH", path, increment(session));
        if (res.status === 200) return;
        expect(res.status).toBe(409);
        conflicts++;
        session = ((await res.json()) as { current: Session }).current;
      }
    }

    // Every writer reads before any writes: one gets in from that version, the nine others
    // meet a 409 at least once and get in from the session it carries.
    const reads = await Promise.all(
      WRITERS.map(async () => (await (await call("POST", path)).json()) as Session),
    );
    expect(new Set(reads.map((s) => s.version))).toEqual(new Set([1]));
    await Promise.all(reads.map((read) => writer(read)));
    const final = (await (await call("GET", path)).json()) as Session;
    expect(final.data.counter).toBe(10);
    expect(final.version).toBe(11);
    expect(conflicts).toBeGreaterThanOrEqual(9);
  });
});
