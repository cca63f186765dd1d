// The worker under test: the real one, with a Durable Object class whose clock the tests move.
import { SessionManagerObject } from "../../worker/index";
import { testClock } from "./clock";

export * from "../../worker/index";
export { default } from "../../worker/index";

/** The real session manager, reading time from `testClock`. */
export class ClockedSessionManagerObject extends SessionManagerObject {
  protected override now(): number {
    return testClock.now;
  }
}
