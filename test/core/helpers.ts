import {
  MemoryStore,
  SessionDataManager,
  type SessionDataManagerOptions,
  type SessionEvent,
} from "../../src/index";

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public now = 0) {}
  readonly read = (): number => this.now;
  set(when: number): void {
    this.now = when;
  }
}

/** A manager on a shared store with a test clock, recording every event it dispatches. */
export function makeManager(options: SessionDataManagerOptions & { clock?: () => number } = {}) {
  const clock = new TestClock();
  const store = (options.store as MemoryStore | undefined) ?? new MemoryStore();
  const manager = new SessionDataManager({ clock: clock.read, ...options, store });
  const events: SessionEvent[] = [];
  manager.on("begin", (e) => events.push(e));
  manager.on("end", (e) => events.push(e));
  return { manager, clock, store, events };
}
