import type { StoredSession } from "../../src/core/session-view.js";

/**
 * Sessions kept in memory, by an estimate of their size (both JSON columns, twice over for the
 * parsed objects): enough for the hot ones, far from the 128 MB an isolate has.
 */
export const CACHE_BYTES = 8 * 1024 * 1024;

/** A session in memory: its data as stored (JSON), and the slice end its row holds in SQL. */
export interface Cached {
  session: StoredSession;
  /** `session.data` as JSON: what the row's `data` column holds (or will hold). */
  data: string;
  bytes: number;
  /** The `slice_end` of the session's row in SQL now; `undefined` when unknown or not stored. */
  rowSliceEnd: number | undefined;
}

/**
 * Recently used sessions (least recently used out first, past `CACHE_BYTES`). Only the object
 * writes its storage, so what this holds is what the rows hold, once written through.
 */
export class SessionCache {
  readonly #entries = new Map<string, Cached>();
  #bytes = 0;

  /** The entry of `key` as it is (not counted as a use). */
  peek(key: string): Cached | undefined {
    return this.#entries.get(key);
  }

  /** The entry of `key`, now the most recently used. */
  use(key: string): Cached | undefined {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, cached);
    }
    return cached;
  }

  remember(
    session: StoredSession,
    data: string,
    keyVersionsLength: number,
    rowSliceEnd: number | undefined,
  ): void {
    this.forget(session.key);
    const bytes = 2 * (data.length + keyVersionsLength);
    this.#entries.set(session.key, { session, data, bytes, rowSliceEnd });
    this.#bytes += bytes;
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= CACHE_BYTES) break;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
    }
  }

  forget(key: string): void {
    const cached = this.#entries.get(key);
    if (cached === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= cached.bytes;
  }
}
