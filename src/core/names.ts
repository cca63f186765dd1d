import { InvalidKeyError } from "./errors.js";

/** App names: 1–64 characters of `a-z 0-9 _ -`, starting with a letter or digit. */
export const APP_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Session keys: 1–256 characters of `A-Z a-z 0-9 . _ ~ : @ -` (URL-safe in a path segment, so
 * a key never needs escaping), optionally after a routing tag and `!` (`tag!rest`): keys that share
 * a tag live in one object at every shard count (`shardOf` hashes the tag alone), as a user's
 * sessions do (docs/DESIGN.md#users).
 */
export const SESSION_KEY_PATTERN = /^(?=.{1,256}$)(?:[A-Za-z0-9._~:@-]+!)?[A-Za-z0-9._~:@-]+$/;

/** Throws `InvalidKeyError` unless `app` is a valid app name. */
export function assertAppName(app: unknown): asserts app is string {
  if (typeof app !== "string" || !APP_NAME_PATTERN.test(app)) {
    throw new InvalidKeyError(invalidAppNameMessage(app));
  }
}

/** Throws `InvalidKeyError` unless `key` is a valid session key. */
export function assertSessionKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || !SESSION_KEY_PATTERN.test(key)) {
    throw new InvalidKeyError(invalidSessionKeyMessage(key));
  }
}

/** What `assertAppName` says about a bad app name (the HTTP API's schema says the same). */
export function invalidAppNameMessage(app: unknown): string {
  return `Invalid app name ${describe(app)}: use 1-64 characters of a-z, 0-9, "_" and "-", starting with a letter or digit.`;
}

/** What `assertSessionKey` says about a bad session key (the HTTP API's schema says the same). */
export function invalidSessionKeyMessage(key: unknown): string {
  return `Invalid session key ${describe(key)}: use 1-256 characters of A-Z, a-z, 0-9, ".", "_", "~", ":", "@" and "-" (optionally after a routing tag and one "!").`;
}

function describe(value: unknown): string {
  if (typeof value !== "string") return `(a ${value === null ? "null" : typeof value})`;
  return value.length > 40
    ? `${JSON.stringify(value.slice(0, 40))}… (${value.length} chars)`
    : JSON.stringify(value);
}

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

/**
 * The routing tag of a key (`tag!rest`), or `undefined` for a key without one. A `!` was never
 * allowed in keys before tags, so no key stored before them changes shard.
 */
export function tagOf(key: string): string | undefined {
  const bang = key.indexOf("!");
  return bang < 0 ? undefined : key.slice(0, bang);
}

/**
 * The shard (0 to shards-1) of a key: FNV-1a over its UTF-16 code units, or over its routing tag
 * alone when it has one (`tag!rest`), so keys that share a tag share a shard. Stable forever.
 */
export function shardOf(key: string, shards: number): number {
  if (shards <= 1) return 0;
  const bang = key.indexOf("!");
  const end = bang < 0 ? key.length : bang;
  let hash = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
