/**
 * The time every Durable Object in the tests reads (seconds since the epoch). The test classes
 * run in the same isolate as the tests, so setting it here moves their clock; no test sleeps.
 * It starts far in the future so that no alarm the tests arm ever fires on its own.
 */
export const T0 = 4_000_000_000;

/** The clock the test objects read; tests set `now`. */
export const testClock = { now: T0 };
