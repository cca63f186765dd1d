import { SessionError } from "../../src/core/errors.js";

/** Where the record is kept in the object's key-value storage. */
const KEY = "deletion";

/** An app's deletion under way in this object (docs/DESIGN.md#deleting-an-app). */
export interface DeletionState {
  app: string;
  /** The home object of a sharded app: the app's other objects not deleted yet. */
  objects: string[];
  /** What those objects held when last asked (`stats` adds it without asking them again). */
  others?: { sessions: number; pendingEvents: number };
}

/**
 * Whether this object is deleting its app, and which of the app's other objects the home object
 * still waits for. Kept in the object's key-value storage (`ctx.storage.kv`, the same SQLite
 * database) rather than in a table: it needs no step of the schema, lives until `deleteAll` frees
 * the rest, and goes with it.
 *
 * It is built before the held app and the alarm, which read it: while it is set, the held app
 * refuses every call on the app (`app_deleting`), and the alarm stays armed until the work is
 * done. The deletion itself (deletion.ts) changes it.
 */
export class DeletionRecord {
  readonly #kv: SyncKvStorage;
  #state: DeletionState | undefined;
  /**
   * The object's storage was freed (`deleteAll`): its parts hold a state that is gone, and the
   * object builds new ones before the next call.
   */
  wiped = false;

  constructor(kv: SyncKvStorage) {
    this.#kv = kv;
    this.#state = kv.get<DeletionState>(KEY);
  }

  /** The deletion under way, if any. */
  get state(): DeletionState | undefined {
    return this.#state;
  }

  /** Whether `app` is being deleted here. */
  deleting(app: string): boolean {
    return this.#state?.app === app;
  }

  save(state: DeletionState): void {
    this.#kv.put(KEY, state);
    this.#state = state;
  }

  /** Refuses a call on `app` while it is being deleted: it changes nothing. */
  refuse(app: string): void {
    if (this.#state?.app === app) throw appDeleting(app);
  }
}

/** The refusal of a call on an app that is being deleted (503 `app_deleting`). */
export function appDeleting(app: string): SessionError {
  return new SessionError(
    "app_deleting",
    `App "${app}" is being deleted: nothing was changed. Its sessions are ending; once deleting it answers 404 app_not_found (or deleteApp answers deleted: true), the name opens as a new app: retry then.`,
  );
}
