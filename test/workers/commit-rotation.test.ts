// A commit that also rotates the session ID (changeset `newKey`), over HTTP and through the
// router of a sharded app.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionSnapshot } from "../../src/core/session-view";
import { SessionRouter, shardOf, unwrap } from "../../src/index";
import { call } from "./helpers";

describe("a commit with newKey", () => {
  it("over HTTP: applies the changes and answers the session at its new key; the old key is gone", async () => {
    const created = (await (
      await call("PATCH", "/v1/apps/rotation/sessions/before", { version: 0, set: { cart: 1 } })
    ).json()) as SessionSnapshot;
    const res = await call("PATCH", "/v1/apps/rotation/sessions/before", {
      version: created.version,
      sid: created.sid,
      set: { user: "ann" },
      newKey: "after",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ key: "after", data: { cart: 1, user: "ann" } });
    expect((await call("GET", "/v1/apps/rotation/sessions/before")).status).toBe(404);
  });

  it("over HTTP: is refused for a session never stored (400), changing nothing", async () => {
    const res = await call("PATCH", "/v1/apps/rotation/sessions/fresh", {
      version: 0,
      set: { a: 1 },
      newKey: "other",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_changeset" } });
    expect((await call("GET", "/v1/apps/rotation/sessions/other")).status).toBe(404);
  });

  it("refuses a new key on another shard (409 wrong_shard), before anything is written", async () => {
    const app = "rotation-sharded";
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 4 })).status).toBe(200);
    const router = new SessionRouter(env.SESSION_MANAGER);
    const key = "k0";
    const far = ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"].find(
      (k) => shardOf(k, 4) !== shardOf(key, 4),
    ) as string;
    const stored = unwrap(
      await router.commit(app, { key, sid: null, version: 0, set: { n: 1 } }),
    ) as SessionSnapshot;
    const refused = await router.commit(app, {
      key,
      sid: stored.sid,
      version: stored.version,
      set: { n: 2 },
      newKey: far,
    });
    expect(refused).toMatchObject({ ok: false, error: { code: "wrong_shard", status: 409 } });
    expect(unwrap(await router.query(app, key))?.data).toEqual({ n: 1 });
  });
});
