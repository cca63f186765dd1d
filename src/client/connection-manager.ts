import type { SessionData } from "../data.js";
import type { SessionView } from "../session-view.js";
import type { SessionTransport } from "./transport.js";

/**
 * The unit of work of a program, like repoze's `ConnectionManager` over a ZODB connection:
 * every session read through a manager opened on it joins it; `commit()` sends each changed
 * session's changes, `abort()` (or `close()`) drops them.
 *
 * @example
 * const cm = new ConnectionManager();
 * const manager = await factory.open(cm);
 * (await manager.get("abc")).set("first_name", "fred");
 * await cm.commit();
 */
export class ConnectionManager {
  readonly #sessions = new Map<string, { data: SessionData; transport: SessionTransport }>();

  /** @internal A session read by a manager joins the unit of work. */
  join(id: string, data: SessionData, transport: SessionTransport): void {
    this.#sessions.set(id, { data, transport });
  }

  /** @internal The session already read in this unit of work. */
  lookup(id: string): SessionData | undefined {
    return this.#sessions.get(id)?.data;
  }

  /** @internal Forget a session (after it was moved by `regenerate`). */
  forget(id: string): void {
    this.#sessions.delete(id);
  }

  /**
   * Sends the changes of every modified session. Over RPC the sessions of one object go in one
   * call and one storage transaction (`commitMany`); over HTTP, one request per session; requests
   * go in parallel. Each session's commit is atomic, the set of them is not. Resolves to the
   * stored sessions in the order they were read (`SessionView`s, the same over every transport;
   * `null` where nothing is stored any more). If any commit was refused, rejects with the first
   * error (a `ConflictError` names the session and carries its current state) once all have
   * settled. The unit of work ends either way.
   */
  async commit(): Promise<(SessionView | null)[]> {
    const dirty = [...this.#sessions.values()].filter(({ data }) => data.isModified);
    this.#sessions.clear();
    const byTransport = new Map<SessionTransport, number[]>();
    dirty.forEach(({ transport }, i) => {
      byTransport.set(transport, [...(byTransport.get(transport) ?? []), i]);
    });
    const results: PromiseSettledResult<SessionView | null>[] = [];
    await Promise.all(
      [...byTransport].map(async ([transport, indexes]) => {
        const changes = indexes.map((i) => (dirty[i] as (typeof dirty)[number]).data.changes());
        const settled =
          transport.commitMany !== undefined && changes.length > 1
            ? await transport
                .commitMany(changes)
                .catch((reason: unknown) =>
                  changes.map((): PromiseRejectedResult => ({ status: "rejected", reason })),
                )
            : await Promise.allSettled(changes.map((c) => transport.commit(c)));
        indexes.forEach((index, j) => {
          results[index] = settled[j] as PromiseSettledResult<SessionView | null>;
        });
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<SessionView | null>).value);
  }

  /** Drops every uncommitted change; the next access reads afresh. */
  abort(): void {
    this.#sessions.clear();
  }

  /** Ends the unit of work without committing (as `abort`). */
  close(): void {
    this.abort();
  }
}
