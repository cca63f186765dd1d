// The soak's invariants over the events it received, shared by its phases: every stored session
// had exactly one begin and one end, every acknowledged commit went into a session that began,
// and each ended session's last data holds the increments acknowledged for it.

/** An event as the soak's test consumer records it. */
export interface SoakEvent {
  id: string;
  data?: { n?: number };
}

/**
 * Counts what the events show lost: `lostInStore` are sessions whose stored counter was already
 * found behind; `acknowledged` are the increments acknowledged per sid.
 */
export function eventInvariants(
  events: SoakEvent[],
  acknowledged: Map<string, number>,
  lostInStore: string[],
) {
  const unique = new Map(events.map((e) => [e.id, e]));
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
  return {
    sessionsBegun: begun.size,
    sessionsEnded: ended.size,
    eventsDelivered: events.length,
    duplicateDeliveries: events.length - unique.size,
    lost: Object.values(lostDetail).reduce((sum, n) => sum + n, 0),
    lostDetail,
  };
}
