import { assertAppName } from "./names.js";

/**
 * The name of the Durable Object that holds `key` of `app`. With one shard (the default) an app
 * lives in one object; with `shards` > 1, keys spread over that many objects by a stable hash.
 * Every client and the worker derive names here, so they always agree.
 *
 * @example
 * env.SESSION_MANAGER.getByName(objectName("shop")) // "shop"
 */
export function objectName(app: string, key = "", shards = 1): string {
  assertAppName(app);
  return nameOf(app, key, shards);
}

/** `objectName` of an app whose name is known to be valid (checked once, where it came in). */
export function nameOf(app: string, key: string, shards: number): string {
  return shards <= 1 ? app : shardName(app, shardOf(key, shards));
}

/** The name of shard `index` of an app with more than one shard: `app#index`. */
export function shardName(app: string, index: number): string {
  return `${app}#${index}`;
}

/** The shard (0 to shards-1) of a key: FNV-1a over its UTF-16 code units. Stable forever. */
export function shardOf(key: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
