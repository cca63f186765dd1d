// The objects of an app as the users tests look at them: the test namespace, an object's RPC
// surface, the home object's layout, moves run to their end, and a full scan for a user's sessions.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import { type Layout, objectName, type SessionObjectNamespace, unwrap } from "../../src/index";
import { layoutObjects, objectsOf } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";

export type Namespace = DurableObjectNamespace & SessionObjectNamespace;

export function ns(): Namespace {
  return env.SESSION_MANAGER as Namespace;
}

export function object(name: string): SessionObjectRpc {
  return ns().getByName(name) as unknown as SessionObjectRpc;
}

export async function homeLayout(app: string): Promise<Layout> {
  return unwrap(await object(objectName(app)).layout(app)).layout;
}

/** Runs the app's alarms until no move is under way and the app has the shard count it was set to. */
export async function endMoves(app: string): Promise<Layout> {
  for (let round = 0; round < 60; round++) {
    const layout = await homeLayout(app);
    const settings = unwrap(await object(objectName(app)).open(app));
    if (layout.from === null && layout.shards === settings.shards) return layout;
    for (const name of layoutObjects(app, layout))
      await runDurableObjectAlarm(ns().getByName(name));
  }
  throw new Error(`the moves of ${app} did not end`);
}

/** The keys of sessions signed in as `user` stored in any object of the app at these counts. */
export async function storedOf(app: string, user: string, shards: number[]): Promise<string[]> {
  const tag = await userTag(app, user);
  const found: string[] = [];
  for (const name of new Set(shards.flatMap((n) => objectsOf(app, n)))) {
    const keys = await runInDurableObject(ns().getByName(name), (_i, state) =>
      state.storage.sql
        .exec<{ key: string }>("SELECT key FROM sessions WHERE user IS NOT NULL")
        .toArray()
        .map((r) => r.key),
    );
    for (const key of keys) if (tagOf(key) === tag) found.push(key);
  }
  return found;
}
