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
  if (shards <= 1) return app;
  return `${app}#${shardOf(key, shards)}`;
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
