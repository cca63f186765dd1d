import { InvalidInputError, SessionError, WrongShardError } from "../core/errors.js";
import { nameOf, objectName, shardName } from "../core/names.js";
import { type AppSettings, MAX_SHARDS } from "../core/settings.js";

/** Where an app's objects are created: data residency and placement. */
export interface Placement {
  /** Keep the objects in a jurisdiction, e.g. `"eu"` or `"fedramp"`. */
  jurisdiction?: string;
  /** Create new objects near a location, e.g. `"weur"` (a hint, not a guarantee). */
  locationHint?: string;
}

/**
 * Where an app's sessions live: the number of objects keys are routed to, and during a move the
 * number they come from. The app's home object makes every layout; each new one has the next
 * epoch, so a higher epoch always wins (docs/DESIGN.md#resharding).
 */
export interface Layout {
  /** Grows by one with every new layout of the app. */
  epoch: number;
  /** The objects keys are routed to: `objectName(app, key, shards)`. */
  shards: number;
  /** While sessions move: the shard count they move from. `null` when nothing moves. */
  from: number | null;
  /** The placement the app's objects are created with. */
  placement: Placement;
}

/** An app's settings and layout, as the home object gives them to a router. */
export interface AppLayout {
  settings: AppSettings;
  layout: Layout;
  /**
   * `false` for an app never stored: it runs on these defaults until it is, and a router asks
   * again next time instead of caching them.
   */
  stored?: boolean;
}

/** The first layout of an app created with `shards`. */
export function initialLayout(shards: number, placement: Placement = {}): Layout {
  return { epoch: 1, shards, from: null, placement: cleanPlacement(placement) };
}

/** The object that owns `key` under `layout`. */
export function ownerOf(app: string, key: string, layout: Layout): string {
  return nameOf(app, key, layout.shards);
}

/** During a move, the object `key` comes from; `undefined` when nothing moves. */
export function sourceOf(app: string, key: string, layout: Layout): string | undefined {
  return layout.from === null ? undefined : nameOf(app, key, layout.from);
}

/** The names of the objects of an app with `shards` shards (its home object when 1). */
export function objectsOf(app: string, shards: number): string[] {
  if (shards <= 1) return [objectName(app)];
  return Array.from({ length: shards }, (_, i) => shardName(app, i));
}

/** Every object that may hold sessions under `layout`: its owners, and its sources while moving. */
export function layoutObjects(app: string, layout: Layout): string[] {
  const names = objectsOf(app, layout.shards);
  if (layout.from !== null) names.push(...objectsOf(app, layout.from));
  return [...new Set(names)];
}

/**
 * Every object of `app` besides its home object that may hold something of it: those of its
 * layout, and those of `peak` shards, the most it ever had (a shrink leaves objects that keep the
 * app's settings and the counts they made).
 */
export function otherObjectsOf(app: string, layout: Layout | undefined, peak: number): string[] {
  const names = new Set([
    ...(layout === undefined ? [] : layoutObjects(app, layout)),
    ...objectsOf(app, peak),
  ]);
  names.delete(objectName(app));
  return [...names];
}

/** The placement without unset fields (so that layouts compare and serialize plainly). */
export function cleanPlacement(placement: Placement): Placement {
  const clean: Placement = {};
  if (placement.jurisdiction) clean.jurisdiction = placement.jurisdiction;
  if (placement.locationHint) clean.locationHint = placement.locationHint;
  return clean;
}

/** Checks a layout that came over RPC; throws `InvalidInputError` when it is not one. */
export function parseLayout(input: unknown): Layout {
  const l = input as Partial<Layout> | null;
  const count = (n: unknown) =>
    Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_SHARDS;
  if (
    l === null ||
    typeof l !== "object" ||
    !Number.isInteger(l.epoch) ||
    (l.epoch as number) < 1 ||
    !count(l.shards) ||
    !(l.from === null || count(l.from)) ||
    l.placement === null ||
    typeof l.placement !== "object"
  ) {
    throw new InvalidInputError(
      "Not a layout: { epoch, shards, from, placement }.",
      "invalid_layout",
    );
  }
  return {
    epoch: l.epoch as number,
    shards: l.shards as number,
    from: l.from as number | null,
    placement: cleanPlacement(l.placement),
  };
}

/**
 * The answer of an object asked for a key it does not own (421, `moved`): it carries the
 * object's layout, which the router caches before it retries on the key's owner. Routers follow
 * it; callers never see it. It lives here rather than in src/core/errors.ts, with the other errors,
 * because it is made of the routing (`Layout`, `ownerOf`), which src/core/errors.ts would otherwise
 * import (this module imports it).
 */
export class MovedError extends SessionError {
  readonly layout: Layout;

  constructor(app: string, key: string, layout: Layout) {
    super(
      "moved",
      `Key "${key}" of app "${app}" lives in ${ownerOf(app, key, layout)} under layout ${layout.epoch} (${layout.shards} shard(s)). Route with the layout given.`,
    );
    this.layout = layout;
  }
}

/**
 * The largest count `rotationShards` names: a client draws about that many IDs to find one (7 µs
 * each), so past it the count in force alone is named.
 */
const MAX_ROTATION_SHARDS = 1_024;

/**
 * The shard count a `wrong_shard` answer names, for the client to pick its new key with
 * (`shardOf(newKey, n) === shardOf(oldKey, n)`): the count in force (`layout.shards`) or, while a
 * move to another count (`target`, the app's `settings.shards`) waits for the current one to end,
 * their least common multiple. Since `shardOf` is a hash modulo the count, a key on the old key's
 * shard modulo a multiple of both counts is on it under both: it still shares the old key's object
 * when the waiting move begins between the refusal and the client's retry.
 */
export function rotationShards(layout: Layout, target: number): number {
  const { shards } = layout;
  if (target === shards || target < 1) return shards;
  const multiple = (shards / gcd(shards, target)) * target;
  return multiple <= MAX_ROTATION_SHARDS ? multiple : shards;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * `regenerate` to a key that another object owns (409, `wrong_shard`): the move could not be one
 * transaction. The error carries the shard count to pick the new key with (see `rotationShards`):
 * `shardOf(newKey, shards) === shardOf(oldKey, shards)`.
 */
export function wrongShard(
  app: string,
  oldKey: string,
  newKey: string,
  shards: number,
): WrongShardError {
  return new WrongShardError(
    app,
    newKey,
    `Keys "${oldKey}" and "${newKey}" live on different shards of app "${app}", so the move could not be atomic. Pick the new key with shardOf(newKey, ${shards}) === shardOf(oldKey, ${shards}).`,
    shards,
  );
}
