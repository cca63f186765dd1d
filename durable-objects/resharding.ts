import { describeError, SessionError } from "../src/errors.js";
import type { Layout, Placement } from "../src/layout.js";
import type { HandOffArgs } from "../src/object-rpc.js";
import type { StoredSession } from "../src/session-view.js";
import type { AppSettings } from "../src/settings.js";
import { errorBody, failure, type Result } from "../src/wire.js";
import { type ReshardingHost, StoredLayout } from "./layout-record.js";
import { MoveHome } from "./move-home.js";
import { MoveOwner } from "./move-owner.js";
import { MoveSource } from "./move-source.js";

export type { ReshardingHost } from "./layout-record.js";

/**
 * The resharding protocol on the side of one Durable Object (docs/DESIGN.md#resharding): its layout,
 * the redirection of keys it does not own, the pull of a key from its source on first access,
 * the hand-off (copy to `move_out`, then delete when the owner confirms), the background drain
 * in bounded batches and, in the home object, the layouts themselves.
 *
 * Its parts: the layout record, which the others share (layout-record.ts); the owner side, which
 * checks ownership, pulls and takes in (move-owner.ts); the source side, which hands off and
 * drains (move-source.ts); and the home object's, which starts and ends moves and tells every
 * object the layout (move-home.ts).
 */
export class Resharding {
  readonly #layout: StoredLayout;
  readonly #owner: MoveOwner;
  readonly #source: MoveSource;
  readonly #home: MoveHome;
  /** Sessions handed off and taken in since the object started. */
  readonly moved = { out: 0, in: 0 };

  constructor(host: ReshardingHost) {
    this.#layout = new StoredLayout(host);
    this.#owner = new MoveOwner(this.#layout, this.moved);
    // A pull that failed answers the operation with an error (never an exception over RPC).
    this.guard = (app, keys, epoch, run) => {
      const answer = this.#owner.guard(app, keys, epoch, run);
      return answer instanceof Promise ? answer.catch(unavailable) : answer;
    };
    this.#home = new MoveHome(this.#layout);
    this.#source = new MoveSource(this.#layout, this.#home, this.moved);
  }

  /** This object's layout of `app`, if it has one (the home object's is made from its settings). */
  current(app: string): Layout | undefined {
    return this.#layout.current(app);
  }

  /** Sessions taken in, handed off, and this object's layout, for `stats`. */
  stats(app: string): { layout?: Layout; moved: { out: number; in: number } } {
    const layout = this.current(app);
    return layout === undefined
      ? { moved: { ...this.moved } }
      : { layout, moved: { ...this.moved } };
  }

  /**
   * Runs a session operation on `keys` if this object owns them, else answers `moved` or
   * `wrong_shard` (see `MoveOwner.guard`: the check and `run` happen in one synchronous step).
   */
  readonly guard: MoveOwner["guard"];

  /**
   * The ownership check of `guard` alone, for a commit applied later than it arrived (group
   * commit): `run` when this object owns `keys` and holds them; an error (`moved`, or
   * `wrong_shard` for a second key); `slow` when it must learn a newer layout or pull first.
   */
  verdict(app: string, keys: string[], epoch: number | undefined): "run" | "slow" | SessionError {
    return this.#owner.check(app, keys, epoch);
  }

  /** The home object's layout, stored with `placement` the first time it is asked for. */
  homeLayout(app: string, settings: AppSettings, placement: Placement = {}): Layout {
    return this.#home.homeLayout(app, settings, placement);
  }

  /** The home object, in the transaction that stores `next` settings: see `MoveHome.retarget`. */
  retarget(app: string, before: AppSettings, next: AppSettings): void {
    this.#home.retarget(app, before, next);
  }

  /** Takes `layout` if it is newer than this object's; returns whether it did. */
  adopt(layout: Layout): boolean {
    return this.#layout.adopt(layout);
  }

  /** A source's answer to an owner's pull: see `MoveSource.handOff`. */
  handOff(
    ...[app, epoch, keys, to, confirmed = []]: HandOffArgs
  ): Promise<Result<StoredSession[]>> {
    return this.#source.handOff(app, epoch, keys, to, confirmed);
  }

  /** An owner takes in sessions pushed by a source's drain; answers the keys it holds now. */
  receive(app: string, epoch: number, sessions: StoredSession[]): Promise<Result<string[]>> {
    return this.#owner.receive(app, epoch, sessions);
  }

  /** A source forgets handed-off sessions that their owner confirmed. */
  release(sessions: { key: string; sid: string }[]): number {
    return this.#source.release(sessions);
  }

  /** The home object: source `name` is drained. The last one ends the move. */
  moveDone(app: string, epoch: number, name: string): Layout {
    return this.#home.moveDone(app, epoch, name);
  }

  /** When this object has move work: ms since the epoch, or `Infinity`. */
  due(): number {
    return this.#source.due();
  }

  /** The alarm's part: tell objects the layout (home), drain this source in bounded batches. */
  onAlarm(): Promise<void> {
    return this.#source.onAlarm();
  }
}

/** An operation whose session could not be pulled here: a typed error, or 503 to retry. */
function unavailable(error: unknown): Result<never> {
  if (error instanceof SessionError) return failure(errorBody(error));
  return failure({
    code: "unavailable",
    status: 503,
    message: `The session is moving between shards and could not be reached (${describeError(error)}). Retry in a moment.`,
  });
}
