import type { SessionData } from "./data.js";

/**
 * The sessions of one unit of work (docs/DESIGN.md#after-commit): the one handed out for each
 * key, which a second read returns, and every member whose changes the next commit sends, each
 * with what commits it (`Via`: a transport; nothing in process). A session changed after the
 * unit of work ended (a commit, an abort) joins it again, so its change is not lost.
 */
export class UnitOfWork<Via = undefined> {
  readonly #current = new Map<string, SessionData>();
  readonly #members = new Map<SessionData, Via>();

  /** `data` joins; `idOf` names it by its key (read again after a rotation moved it). */
  join(data: SessionData, via: Via, idOf: (data: SessionData) => string): void {
    this.#current.set(idOf(data), data);
    this.#members.set(data, via);
    data.bind(() => {
      this.#members.set(data, via);
      const id = idOf(data);
      if (!this.#current.has(id)) this.#current.set(id, data);
    });
  }

  /** The session handed out under `id` in this unit of work. */
  lookup(id: string): SessionData | undefined {
    return this.#current.get(id);
  }

  /** Leaves the session handed out under `id` out of the unit of work, uncommitted. */
  forget(id: string): void {
    const data = this.#current.get(id);
    if (data === undefined) return;
    this.#current.delete(id);
    this.#members.delete(data);
  }

  /** The members with changes to send, in the order they joined. */
  modified(): [SessionData, Via][] {
    return [...this.#members].filter(([data]) => data.isModified);
  }

  /** The unit of work ends: the next read reads afresh. */
  end(): void {
    this.#current.clear();
    this.#members.clear();
  }

  /** Drops every change not sent, and ends the unit of work. */
  abort(): void {
    for (const data of this.#members.keys()) data.discard();
    this.end();
  }
}
