import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { SessionSnapshot, SessionView } from "../../src/core/session-view";
import { type Changeset, isStored, type JsonObject, objectName, unwrap } from "../../src/index";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import { api } from "../../worker/app";
import { expectContract } from "./contract";
import { deliveries } from "./deliveries";

export { T0 } from "./clock";

/** The stub of `app`'s session manager, typed as its RPC surface. */
export function manager(
  app: string,
  namespace = env.SESSION_MANAGER,
): SessionObjectRpc & DurableObjectStub {
  return namespace.getByName(objectName(app)) as unknown as SessionObjectRpc & DurableObjectStub;
}

/** Gets `key` and commits `data` into it; returns the stored session. */
export async function create(
  stub: SessionObjectRpc,
  app: string,
  key: string,
  data: JsonObject = { n: 1 },
): Promise<SessionSnapshot> {
  const snapshot: SessionSnapshot = unwrap(await stub.get(app, key));
  const changes: Changeset = { key, sid: snapshot.sid, version: snapshot.version, set: data };
  const stored = unwrap(await stub.commit(app, changes));
  if (!isStored(stored)) throw new Error(`nothing stored for ${key}`);
  return stored;
}

/** Calls the worker's HTTP API with the test token; `json` becomes an application/json body. */
export function call(method: string, path: string, json?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Authorization: "Bearer test-token" };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  return exports.default.fetch(
    new Request(`https://sessions.test${path}`, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
    }),
  );
}

/**
 * `api.request` with its own env (to fake a missing token or a namespace that must not be
 * reached), the answer checked against the OpenAPI document like every answer of
 * `exports.default.fetch` (test/workers/main.ts).
 */
export async function apiRequest(
  path: string,
  init: RequestInit,
  env: Cloudflare.Env,
): Promise<Response> {
  const response = await api.request(path, init, env);
  await expectContract(init.method ?? "GET", `https://sessions.test${path}`, response);
  return response;
}

/**
 * Stores a new session at each of `keys` with `data`, 100 per call (`commitMany`): setup for
 * tests that need many sessions. Returns the stored sessions in order.
 */
export async function createMany(
  stub: SessionObjectRpc,
  app: string,
  keys: string[],
  data: JsonObject = { n: 1 },
): Promise<SessionView[]> {
  const stored: SessionView[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    const changes = keys
      .slice(i, i + 100)
      .map((key) => ({ key, sid: null, version: 0, set: data }));
    for (const result of unwrap(await stub.commitMany(app, changes))) {
      const session = unwrap(result);
      if (!isStored(session)) throw new Error(`nothing stored for ${session.key}`);
      stored.push(session);
    }
  }
  return stored;
}

/** `count` keys `prefix0`, `prefix1`, … */
export function keys(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** How long a test waits for background work (a send, a delivery) before it fails: explicit. */
export const WAIT = { timeout: 10_000, interval: 10 } as const;

let markers = 0;

/**
 * Waits until every event the objects of `stubs` wrote has reached the Queue consumer: their
 * outboxes are empty, then a marker sent after them has been delivered (the Queue delivers in
 * the order it was sent to). After it, the deliveries (test/workers/deliveries.ts) are complete,
 * so a test can check that nothing more came than it expects.
 */
export async function settleEvents(app: string, stubs: SessionObjectRpc[]): Promise<void> {
  await vi.waitUntil(async () => {
    for (const stub of stubs) {
      if (unwrap(await stub.stats(app)).pendingEvents > 0) return false;
    }
    return true;
  }, WAIT);
  const marker = `settled-${++markers}`;
  await env.SESSION_EVENTS.send({ marker });
  await vi.waitUntil(
    () => deliveries.some((d) => (d.body as unknown as { marker?: string }).marker === marker),
    WAIT,
  );
}
