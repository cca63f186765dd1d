import type { SessionData } from "../core/data.js";
import type { SessionView } from "../core/session-view.js";
import { UnitOfWork } from "../core/unit-of-work.js";
import type { SessionTransport } from "./transport.js";

/**
 * The unit of work of a program, like repoze's `ConnectionManager` over a ZODB connection:
 * every session read through a manager opened on it joins it; `commit()` sends each changed
 * session's changes, `abort()` (or `close()`) drops them.
 *
 * A session the program still holds after `commit()` stays live, as a ZODB object does after
 * `transaction.commit()`: it stands for what was stored, and a change made to it later joins
 * the unit of work again, so the next `commit()` stores it (or refuses it with a
 * `ConflictError`). No change is dropped without an error.
 *
 * @example
 * const cm = new ConnectionManager();
 * const manager = await factory.open(cm);
 * const session = await manager.get("abc");
 * session.set("first_name", "fred");
 * await cm.commit();
 * session.set("last_name", "flintstone"); // still live: the next commit stores it
 * await cm.commit();
 */
export class ConnectionManager {
  /** The sessions of this unit of work, each with the transport that commits it. */
  readonly #unit = new UnitOfWork<SessionTransport>();

  /** @internal A session read by a manager of `app` joins the unit of work. */
  join(app: string, data: SessionData, transport: SessionTransport): void {
    this.#unit.join(data, transport, (joined) => idOf(app, joined.key));
  }

  /** @internal The session already read for `key` of `app` in this unit of work. */
  lookup(app: string, key: string): SessionData | undefined {
    return this.#unit.lookup(idOf(app, key));
  }

  /**
   * @internal Leaves the session read for `key` of `app` out of this unit of work, uncommitted
   * (`RemoteSessionManager.forget`), or before it joins again under its new key (`save`).
   */
  forget(app: string, key: string): void {
    this.#unit.forget(idOf(app, key));
  }

  /**
   * Sends the changes of every modified session. Over RPC the sessions of one object go in one
   * call and one storage transaction (`commitMany`); over HTTP, one request per session; requests
   * go in parallel. Each session's commit is atomic, the set of them is not. Resolves to the
   * stored sessions in the order they were read (`SessionView`s, the same over every transport;
   * `null` where nothing is stored any more). If any commit was refused, rejects with the first
   * error (a `ConflictError` names the session and carries its current state) once all have
   * settled. The unit of work ends either way; each session that was committed stands for what
   * was stored, and a refused one drops the changes that commit carried (read it again and redo
   * them; changes made while the commit was in flight stay pending).
   */
  async commit(): Promise<(SessionView | null)[]> {
    const dirty = this.#unit.modified();
    // Refuse before sending anything: a session's changes can be in one commit at a time.
    for (const [data] of dirty) if (data.committing) data.send();
    this.#unit.end();
    const byTransport = new Map<SessionTransport, number[]>();
    dirty.forEach(([, transport], i) => {
      byTransport.set(transport, [...(byTransport.get(transport) ?? []), i]);
    });
    const changes = dirty.map(([data]) => data.send());
    const results: PromiseSettledResult<SessionView | null>[] = [];
    await Promise.all(
      [...byTransport].map(async ([transport, indexes]) => {
        const sent = indexes.map((i) => changes[i] as (typeof changes)[number]);
        const settled =
          transport.commitMany !== undefined && sent.length > 1
            ? await transport
                .commitMany(sent)
                .catch((reason: unknown) =>
                  sent.map((): PromiseRejectedResult => ({ status: "rejected", reason })),
                )
            : await Promise.allSettled(sent.map((c) => transport.commit(c)));
        indexes.forEach((index, j) => {
          results[index] = settled[j] as PromiseSettledResult<SessionView | null>;
        });
      }),
    );
    results.forEach((result, i) => {
      const [data] = dirty[i] as (typeof dirty)[number];
      if (result.status === "fulfilled") data.settle(result.value);
      else data.refused();
    });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<SessionView | null>).value);
  }

  /** Drops every uncommitted change; the next access reads afresh. */
  abort(): void {
    this.#unit.abort();
  }

  /** Ends the unit of work without committing (as `abort`). */
  close(): void {
    this.abort();
  }
}

function idOf(app: string, key: string): string {
  return `${app}\u0000${key}`;
}
