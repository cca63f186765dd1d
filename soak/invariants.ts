// The soak's invariants over the events it received, shared by its phases: every stored session
// had exactly one begin and one end, every acknowledged commit went into a session that began,
// each ended session's last data holds the increments acknowledged for it, and no event came
// more often than the Queue's at-least-once delivery explains.

/** An event as the soak's test consumer records it. */
export interface SoakEvent {
  id: string;
  app?: string;
  type?: "begin" | "end";
  reason?: string;
  data?: { n?: number };
}

/** One delivery by the Queue, as the soak's consumer records it (soak/worker.ts). */
export interface SoakDelivery {
  messageId: string;
  attempts: number;
  body: SoakEvent;
}

/**
 * What came more than once, by event id (`<sid>:begin` or `<sid>:end`):
 * - `redelivered`: the same message again (the Queue retried it): explained by at-least-once;
 * - `resent`: the same event, equal in every field, in another message: what the outbox sends
 *   again after a crash between its send and its delete; explained by at-least-once too;
 * - `twice`: one session's begin, or its end, with two different bodies (another time, reason or
 *   data): two events for one session, which nothing explains. The soak fails on any.
 */
export function repeatedEvents(deliveries: SoakDelivery[]) {
  const byId = new Map<string, SoakDelivery[]>();
  for (const d of deliveries) byId.set(d.body.id, [...(byId.get(d.body.id) ?? []), d]);
  const redelivered: string[] = [];
  const resent: string[] = [];
  const twice: string[] = [];
  for (const [id, all] of byId) {
    if (all.length === 1) continue;
    if (new Set(all.map((d) => JSON.stringify(d.body))).size > 1) twice.push(id);
    else if (new Set(all.map((d) => d.messageId)).size > 1) resent.push(id);
    else redelivered.push(id);
  }
  return { redelivered, resent, twice };
}

/**
 * Counts what the deliveries show lost or doubled: `lostInStore` are sessions whose stored
 * counter was already found behind; `acknowledged` are the increments acknowledged per sid.
 */
export function eventInvariants(
  deliveries: SoakDelivery[],
  acknowledged: Map<string, number>,
  lostInStore: string[],
) {
  const unique = new Map(deliveries.map((d) => [d.body.id, d.body]));
  const sids = (suffix: string) =>
    new Set(
      [...unique.keys()]
        .filter((id) => id.endsWith(suffix))
        .map((id) => id.slice(0, -suffix.length)),
    );
  const begun = sids(":begin");
  const ended = sids(":end");
  const beginWithoutEnd = [...begun].filter((sid) => !ended.has(sid));
  const endWithoutBegin = [...ended].filter((sid) => !begun.has(sid));
  const ackWithoutBegin = [...acknowledged.keys()].filter((sid) => !begun.has(sid));
  // Each ended session's last data says how many increments it held.
  const lostAtEnd = [...ended].filter((sid) => {
    const end = unique.get(`${sid}:end`);
    return (end?.data?.n ?? 0) !== (acknowledged.get(sid) ?? 0);
  });
  const lostDetail = {
    storedCounterBehind: lostInStore.length,
    endedCounterBehind: lostAtEnd.length,
    beginWithoutEnd: beginWithoutEnd.length,
    endWithoutBegin: endWithoutBegin.length,
    acknowledgedWithoutBegin: ackWithoutBegin.length,
  };
  const repeats = repeatedEvents(deliveries);
  return {
    sessionsBegun: begun.size,
    sessionsEnded: ended.size,
    eventsDelivered: deliveries.length,
    /** Deliveries at-least-once explains: the Queue's retries, the outbox's resends. */
    repeatedDeliveries: {
      redelivered: repeats.redelivered.length,
      resent: repeats.resent.length,
    },
    /** Events that began or ended one session a second time (a failure); the first 10 ids. */
    eventsTwice: repeats.twice.length,
    eventsTwiceIds: repeats.twice.slice(0, 10),
    lost: Object.values(lostDetail).reduce((sum, n) => sum + n, 0),
    lostDetail,
  };
}
