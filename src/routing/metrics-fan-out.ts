import { appNotFound } from "../core/errors.js";
import { type AppMetrics, appMetrics, type ShardMetrics } from "../core/metrics.js";
import { objectName } from "../core/names.js";
import { otherObjectsOf } from "./layout.js";
import type { ObjectMetricsAnswer, SessionObjectRpc } from "./object-rpc.js";
import { errorBody, failure, type Result } from "./wire.js";

/** How long an app's figures wait for its shards (ms), by default; later answers are left out. */
export const METRICS_TIMEOUT_MS = 3_000;

/**
 * An app's figures (docs/DESIGN.md#metrics): the home object first (it knows the layout and the
 * most shards the app ever had), then every other object in parallel, each within `timeoutMs`.
 * Objects of a shard count the app left keep the counts they made, so they are asked too. An
 * object that fails or is late is named in `shards.missing`; the figures are then partial.
 */
export async function fanOutMetrics(
  app: string,
  object: (name: string) => SessionObjectRpc,
  timeoutMs = METRICS_TIMEOUT_MS,
): Promise<Result<AppMetrics>> {
  const homeName = objectName(app);
  const home = await object(homeName).metrics(app);
  if (!home.ok) return home;
  if (!home.value.stored) return failure({ ...errorBody(appNotFound(app)), app });
  const { layout, peak = 1 } = home.value;
  const others = await Promise.all(
    otherObjectsOf(app, layout, peak).map(async (shard) => ({
      shard,
      metrics: await within(object(shard).metrics(app), timeoutMs),
    })),
  );
  const move =
    layout === undefined || layout.from === null ? null : { from: layout.from, to: layout.shards };
  const answers = [{ shard: homeName, metrics: shardPart(home.value) }, ...others].sort((a, b) =>
    a.shard.localeCompare(b.shard, "en", { numeric: true }),
  );
  // Objects of a sharded app that never held a session (the home, shards never used) add only zeros.
  const deleting = home.value.deleting === true;
  return { ok: true, value: appMetrics(app, home.value.at, answers, move, deleting) };
}

/** An object's answer within `ms`: its figures, or `null` when it failed or was late. */
async function within(
  answer: Promise<Result<ObjectMetricsAnswer>>,
  ms: number,
): Promise<ShardMetrics | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    const result = await Promise.race([answer.catch(() => null), late]);
    return result?.ok === true ? shardPart(result.value) : null;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** The figures of an object's answer, without what only the router needs. */
function shardPart(answer: ObjectMetricsAnswer): ShardMetrics {
  const { stored: _stored, peak: _peak, layout: _layout, deleting: _deleting, ...figures } = answer;
  return figures;
}
