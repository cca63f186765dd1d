/** A value that survives a JSON round trip unchanged. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A session's data: string keys to JSON values. */
export type JsonObject = { [key: string]: JsonValue };

/** Deeper values than this are refused: they are almost always a mistake, and costly to check. */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws a `TypeError` naming `key` unless `value` is a JSON value (null, boolean, finite number,
 * string, array, plain object; no cycles).
 */
export function assertJsonValue(key: string, value: unknown): asserts value is JsonValue {
  const problem = findNonJson(value, 0, new Set());
  if (problem !== undefined) {
    throw new TypeError(
      `Session value for key "${key}" is not JSON: ${problem}. Store only null, booleans, finite numbers, strings, arrays and plain objects.`,
    );
  }
}

function findNonJson(value: unknown, depth: number, ancestors: Set<object>): string | undefined {
  if (value === null) return undefined;
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${value} is not a finite number`;
    case "object":
      break;
    default:
      return `a ${typeof value} cannot be stored`;
  }
  if (depth >= MAX_JSON_DEPTH) return `it nests deeper than ${MAX_JSON_DEPTH} levels`;
  const object = value as object;
  if (ancestors.has(object)) return "it contains a cycle";
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) return "it is a sparse array";
        const problem = findNonJson(object[i], depth + 1, ancestors);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      return `an instance of ${object.constructor?.name ?? "a class"} is not a plain object`;
    }
    if (Object.getOwnPropertySymbols(object).length > 0) return "it has symbol keys";
    for (const [k, v] of Object.entries(object)) {
      const problem = findNonJson(v, depth + 1, ancestors);
      if (problem !== undefined) return `at "${k}", ${problem}`;
    }
    return undefined;
  } finally {
    ancestors.delete(object);
  }
}

/** A deep copy that is frozen, so a stored value cannot be changed behind the session's back. */
export function frozenCopy<T extends JsonValue>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return Object.freeze(value.map((v) => frozenCopy(v))) as T;
  // Object.fromEntries defines own properties, so a "__proto__" key stays plain data.
  const copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, frozenCopy(v)]));
  return Object.freeze(copy) as T;
}

/** Deep equality of two JSON values (key order does not matter). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}

const encoder = new TextEncoder();

/** Bytes of the UTF-8 encoding of `text`. */
export function utf8Length(text: string): number {
  return encoder.encode(text).byteLength;
}
