// A plain Node program (ESM, no TypeScript, no bundler) that uses the session worker's HTTP API
// through the library: SESSIONS_URL and SESSIONS_TOKEN name the worker and its API token.
import assert from "node:assert/strict";
import {
  ConflictError,
  ConnectionManager,
  HttpSessionManagerFactory,
  withRetry,
} from "edge-sessions";

const { SESSIONS_URL: url, SESSIONS_TOKEN: token } = process.env;
if (url === undefined || token === undefined) {
  throw new Error("Set SESSIONS_URL and SESSIONS_TOKEN to the session worker's URL and API token.");
}

// A fresh key per run, so the program works on a server that ran it before.
const key = `node-${crypto.randomUUID()}`;
const factory = new HttpSessionManagerFactory(url, "consumer-node", { token });

// The repoze program: a unit of work, committed.
const cm = new ConnectionManager();
const manager = await factory.open(cm);
const cart = await manager.get(key);
assert.equal(cart.isNew, true);
cart.set("count", 0);
await cm.commit();
console.log("commit: stored", key);

// Two units of work change the same key from the same version: the second one conflicts.
const first = await factory.open();
const second = await factory.open();
(await first.get(key)).set("count", 1);
(await second.get(key)).set("count", 1);
await first.connection.commit();
await assert.rejects(second.connection.commit(), (error) => {
  assert.ok(error instanceof ConflictError, `expected a ConflictError, got ${error}`);
  assert.equal(error.status, 409);
  assert.equal(error.code, "conflict");
  return true;
});
console.log("conflict: refused with ConflictError (409)");

// withRetry re-runs an increment on conflict: five at once all count.
const increments = 5;
await Promise.all(
  Array.from({ length: increments }, () =>
    withRetry(factory, async (m) => {
      const session = await m.get(key);
      session.set("count", Number(session.get("count", 0)) + 1);
    }),
  ),
);
const stored = await (await factory.open()).query(key);
assert.ok(stored !== undefined, "the session is stored");
assert.equal(stored.get("count"), 1 + increments);
console.log(`withRetry: ${increments} concurrent increments, count ${stored.get("count")}`);
