/**
 * Users over HTTP (docs/http-api.md#users): sign-in under a new key, a user's sessions listed and
 * ended together, every bad input refused with a code before anything is written, and the
 * guarantee that once "end all" answers, no transport finds any of the sessions. Every answer is
 * checked against the OpenAPI document on its way (test/workers/main.ts).
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import {
  type Layout,
  objectName,
  type SessionObjectNamespace,
  SessionRouter,
  shardOf,
  unwrap,
} from "../../src/index";
import { layoutObjects } from "../../src/routing/layout";
import type { SessionObjectRpc } from "../../src/routing/object-rpc";
import type { SessionManagerRpc } from "../../src/routing/wire";
import { testClock } from "./clock";
import { eventsOf } from "./deliveries";
import { call, manager, settleEvents, T0 } from "./helpers";

beforeEach(() => {
  testClock.now = T0;
});

type Json = Record<string, unknown>;

let counter = 0;
/** A fresh app name per test, so tests never share sessions. */
function freshApp(prefix: string): string {
  counter++;
  return `uh-${prefix}-${counter}`;
}

/** The path of a user's sessions (`user` percent-encoded). */
function userPath(app: string, user: string, rest = ""): string {
  return `/v1/apps/${app}/users/${encodeURIComponent(user)}/sessions${rest}`;
}

/** A session stored over HTTP at `key` with `data`; answers its view. */
async function stored(app: string, key: string, data: Json = { n: 1 }): Promise<Json> {
  const response = await call("PATCH", `/v1/apps/${app}/sessions/${key}`, {
    version: 0,
    set: data,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

/** Signs the session at `key` in over HTTP (a new one when none is stored); answers the new view. */
async function signIn(
  app: string,
  key: string,
  user: string,
  labels?: Json,
  set?: Json,
): Promise<Json> {
  const read = (await (await call("POST", `/v1/apps/${app}/sessions/${key}`)).json()) as Json;
  const changes = { version: read.version, sid: read.sid, ...(set ? { set } : {}) };
  const response = await call("POST", `/v1/apps/${app}/sessions/${key}/sign-in`, {
    user,
    ...(labels ? { labels } : {}),
    changes,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

async function errorOf(
  response: Response,
): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

async function rowsWritten(app: string): Promise<number> {
  return (await manager(app).usage()).rowsWritten;
}

/** The worker's RPC entrypoint, as a user's Worker reaches it through a service binding. */
function service(): SessionManagerRpc {
  return env.SESSIONS as unknown as SessionManagerRpc;
}

function ns(): DurableObjectNamespace & SessionObjectNamespace {
  return env.SESSION_MANAGER as DurableObjectNamespace & SessionObjectNamespace;
}

/** Runs the app's alarms until no move is under way past layout `epoch`. */
async function endMove(app: string, epoch: number): Promise<Layout> {
  const home = ns().getByName(objectName(app)) as unknown as SessionObjectRpc;
  for (let round = 0; round < 40; round++) {
    const layout = unwrap(await home.layout(app)).layout;
    if (layout.from === null && layout.epoch >= epoch) return layout;
    for (const name of layoutObjects(app, layout))
      await runDurableObjectAlarm(ns().getByName(name));
  }
  throw new Error(`the move of ${app} did not end`);
}

describe("POST /v1/apps/:app/sessions/:key/sign-in", () => {
  it("stores a new session at a key with the user's tag, signed in, with its changes and ETag", async () => {
    const app = freshApp("new");
    const response = await call("POST", `/v1/apps/${app}/sessions/fresh/sign-in`, {
      user: "ann@example.com",
      labels: { device: "Laptop" },
      changes: { version: 0, set: { cart: 1 } },
    });
    expect(response.status).toBe(200);
    const view = (await response.json()) as Json;
    expect(view).toMatchObject({
      version: 1,
      isNew: false,
      data: { cart: 1 },
      user: "ann@example.com",
    });
    const key = view.key as string;
    expect(tagOf(key)).toBe(await userTag(app, "ann@example.com"));
    expect(key).not.toContain("ann");
    expect(response.headers.get("ETag")).toBe(`"${view.sid}:1"`);
    expect((await call("GET", `/v1/apps/${app}/sessions/fresh`)).status).toBe(404);
    const read = await call("GET", `/v1/apps/${app}/sessions/${key}`);
    expect(await read.json()).toMatchObject({ key, user: "ann@example.com", data: { cart: 1 } });
  });

  it("rotates a stored session: data kept and changed in one commit, the old key ended (regenerated)", async () => {
    const app = freshApp("rotate");
    const old = await stored(app, "anon", { theme: "dark" });
    const response = await call("POST", `/v1/apps/${app}/sessions/anon/sign-in`, {
      user: "bea",
      changes: { version: old.version, sid: old.sid, set: { cart: 2 } },
    });
    expect(response.status).toBe(200);
    const view = (await response.json()) as Json;
    expect(view).toMatchObject({ version: 1, user: "bea", data: { theme: "dark", cart: 2 } });
    expect(view.sid).not.toBe(old.sid);
    expect((await call("GET", `/v1/apps/${app}/sessions/anon`)).status).toBe(404);
    await settleEvents(app, [manager(app)]);
    const ends = eventsOf(app).filter((e) => e.type === "end");
    expect(ends).toEqual([expect.objectContaining({ key: "anon", reason: "regenerated" })]);
  });

  it("rotates again when the session signs in as another user, and leaves the first user none", async () => {
    const app = freshApp("switch");
    const ann = await signIn(app, "s1", "ann");
    const bob = await signIn(app, ann.key as string, "bob");
    expect(bob.user).toBe("bob");
    expect(tagOf(bob.key as string)).toBe(await userTag(app, "bob"));
    expect((await call("GET", `/v1/apps/${app}/sessions/${ann.key}`)).status).toBe(404);
    expect(await errorOf(await call("GET", userPath(app, "ann")))).toMatchObject({
      status: 404,
      code: "user_not_found",
    });
    const listed = (await (await call("GET", userPath(app, "bob"))).json()) as Json;
    expect(listed.sessions).toHaveLength(1);
  });

  it("moves a session from another shard to its user's object at 4 shards", async () => {
    const app = freshApp("shards");
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 4 })).status).toBe(200);
    await endMove(app, 1);
    const tag = await userTag(app, "cy");
    let key = "away-0";
    for (let i = 1; shardOf(key, 4) === shardOf(`${tag}!x`, 4); i++) key = `away-${i}`;
    await stored(app, key, { from: "away" });
    const view = await signIn(app, key, "cy");
    expect(view).toMatchObject({ user: "cy", data: { from: "away" } });
    expect(shardOf(view.key as string, 4)).not.toBe(shardOf(key, 4));
    expect((await call("GET", `/v1/apps/${app}/sessions/${key}`)).status).toBe(404);
    expect((await call("GET", `/v1/apps/${app}/sessions/${view.key}`)).status).toBe(200);
  });

  it("refuses a sign-in from a stale version whose keys changed since with 409 conflict", async () => {
    const app = freshApp("conflict");
    const old = await stored(app, "k", { x: 0 });
    const newer = await call("PATCH", `/v1/apps/${app}/sessions/k`, {
      version: old.version,
      sid: old.sid,
      set: { x: 1 },
    });
    expect(newer.status).toBe(200);
    const before = await rowsWritten(app);
    const response = await call("POST", `/v1/apps/${app}/sessions/k/sign-in`, {
      user: "dee",
      changes: { version: old.version, sid: old.sid, set: { x: 2 } },
    });
    const body = (await response.json()) as Json;
    expect(response.status).toBe(409);
    expect(body).toMatchObject({ error: { code: "conflict" }, current: { data: { x: 1 } } });
    expect(await rowsWritten(app)).toBe(before);
    expect((await call("GET", userPath(app, "dee"))).status).toBe(404);
  });

  it("refuses bad input with a clear 4xx and a code, writes nothing, and never echoes the user", async () => {
    const app = freshApp("bad");
    const old = await stored(app, "k");
    const changes = { version: old.version, sid: old.sid };
    const long = "u".repeat(257);
    const path = `/v1/apps/${app}/sessions/k/sign-in`;
    const cases: [string, unknown, number, string][] = [
      ["empty user", { user: "", changes }, 400, "invalid_user"],
      ["user too long", { user: long, changes }, 400, "invalid_user"],
      ["user not a string", { user: 7, changes }, 400, "invalid_user"],
      ["no user", { changes }, 400, "invalid_input"],
      ["labels an array", { user: "u", labels: [], changes }, 400, "invalid_labels"],
      ["labels a string", { user: "u", labels: "Laptop", changes }, 400, "invalid_labels"],
      [
        "labels over 1 KiB",
        { user: "u", labels: { device: "x".repeat(2000) }, changes },
        400,
        "invalid_labels",
      ],
      ["no changes", { user: "u" }, 400, "invalid_input"],
      [
        "changes that invalidate",
        { user: "u", changes: { ...changes, invalidate: true } },
        400,
        "invalid_changeset",
      ],
      [
        "changes that rotate",
        { user: "u", changes: { ...changes, newKey: "other" } },
        400,
        "invalid_changeset",
      ],
      [
        "changes for another key",
        { user: "u", changes: { ...changes, key: "other" } },
        400,
        "invalid_changeset",
      ],
      ["changes without a version", { user: "u", changes: {} }, 400, "invalid_changeset"],
      ["an unknown field", { user: "u", changes, admin: true }, 400, "invalid_input"],
      ["not an object", ["u"], 400, "invalid_input"],
    ];
    const before = await rowsWritten(app);
    for (const [what, body, status, code] of cases) {
      const error = await errorOf(await call("POST", path, body));
      expect({ what, status: error.status, code: error.code }).toEqual({ what, status, code });
      expect(error.message).not.toContain("uuuu");
    }
    const notJson = await exportsFetch(path, "POST", "{", "application/json");
    expect(await errorOf(notJson)).toMatchObject({ status: 400, code: "invalid_json" });
    const notMedia = await exportsFetch(path, "POST", "{}", "text/plain");
    expect(await errorOf(notMedia)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    const badKey = await call("POST", `/v1/apps/${app}/sessions/a!b!c/sign-in`, {
      user: "u",
      changes,
    });
    expect(await errorOf(badKey)).toMatchObject({ status: 400, code: "invalid_key" });
    expect(await rowsWritten(app)).toBe(before);
    expect((await call("GET", `/v1/apps/${app}/sessions/k`)).status).toBe(200);
  });

  it("ends the least recently active session past the app's maxSessionsPerUser (evicted)", async () => {
    const app = freshApp("limit");
    const put = await call("PUT", `/v1/apps/${app}`, { maxSessionsPerUser: 2 });
    expect(await put.json()).toMatchObject({ settings: { maxSessionsPerUser: 2 } });
    const first = await signIn(app, "a1", "eve", { device: "one" });
    testClock.now = T0 + 60;
    await signIn(app, "a2", "eve", { device: "two" });
    testClock.now = T0 + 120;
    await signIn(app, "a3", "eve", { device: "three" });
    const listed = (await (await call("GET", userPath(app, "eve"))).json()) as {
      sessions: { labels: Json }[];
    };
    expect(listed.sessions.map((s) => s.labels.device)).toEqual(["three", "two"]);
    expect((await call("GET", `/v1/apps/${app}/sessions/${first.key}`)).status).toBe(404);
    await settleEvents(app, [manager(app)]);
    const evicted = eventsOf(app).filter((e) => e.reason === "evicted");
    expect(evicted.map((e) => e.key)).toEqual([first.key]);
  });
});

describe("maxSessionsPerUser in the app settings", () => {
  it("is 0 (no limit) by default, in the settings and the stats", async () => {
    const app = freshApp("default");
    const opened = await call("POST", `/v1/apps/${app}`);
    expect(await opened.json()).toMatchObject({ settings: { maxSessionsPerUser: 0 } });
    const stats = await call("GET", `/v1/apps/${app}`);
    expect(await stats.json()).toMatchObject({ settings: { maxSessionsPerUser: 0 } });
  });

  it.each([
    ["negative", -1],
    ["over 1000", 1001],
    ["not an integer", 1.5],
    ["a string", "2"],
  ])(
    "refuses a maxSessionsPerUser that is %s: 400 invalid_settings, nothing changed",
    async (_, value) => {
      const app = freshApp("limit-bad");
      expect((await call("PUT", `/v1/apps/${app}`, { maxSessionsPerUser: 3 })).status).toBe(200);
      const error = await errorOf(
        await call("PUT", `/v1/apps/${app}`, { maxSessionsPerUser: value }),
      );
      expect(error).toMatchObject({ status: 400, code: "invalid_settings" });
      expect(error.message).toContain("maxSessionsPerUser");
      const stats = await call("GET", `/v1/apps/${app}`);
      expect(await stats.json()).toMatchObject({ settings: { maxSessionsPerUser: 3 } });
    },
  );
});

describe("GET /v1/apps/:app/users/:user/sessions", () => {
  it("lists the user's live sessions, most recently active first, with handles that are not keys", async () => {
    const app = freshApp("list");
    const one = await signIn(app, "k1", "fay", { device: "Phone" });
    testClock.now = T0 + 100;
    const two = await signIn(app, "k2", "fay", { device: "Laptop" });
    await signIn(app, "k3", "gil");
    const response = await call("GET", `${userPath(app, "fay")}?own=${one.key}`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const listed = JSON.parse(text) as { user: string; sessions: Json[] };
    expect(listed.user).toBe("fay");
    expect(listed.sessions).toEqual([
      {
        handle: expect.any(String),
        created: T0 + 100,
        lastActive: T0 + 100,
        expires: expect.any(Number),
        labels: { device: "Laptop" },
        current: false,
      },
      {
        handle: expect.any(String),
        created: T0,
        lastActive: T0,
        expires: expect.any(Number),
        labels: { device: "Phone" },
        current: true,
      },
    ]);
    for (const session of listed.sessions) {
      expect(session.expires as number).toBeGreaterThan(T0 + 1000);
      expect(session.handle).not.toContain("!");
    }
    for (const key of [one.key, two.key] as string[]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.split("!")[1]);
    }
  });

  it("finds a user whose identifier needs percent-encoding in the path", async () => {
    const app = freshApp("encoded");
    const user = "ann/ops@example.com?x=1 #2 ü";
    await signIn(app, "k", user);
    const response = await call("GET", userPath(app, user));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ user, sessions: [{ current: false }] });
    expect((await call("GET", userPath(app, "ann"))).status).toBe(404);
  });

  it("writes no row, and answers HEAD without a body", async () => {
    const app = freshApp("no-write");
    await signIn(app, "k", "hal");
    const before = await rowsWritten(app);
    expect((await call("GET", userPath(app, "hal"))).status).toBe(200);
    const head = await call("HEAD", userPath(app, "hal"));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect(await rowsWritten(app)).toBe(before);
  });

  it("refuses an unknown user, a bad user and a bad own key with a code", async () => {
    const app = freshApp("list-bad");
    await signIn(app, "k", "ivy");
    const long = "v".repeat(257);
    const cases: [string, number, string][] = [
      [userPath(app, "nobody"), 404, "user_not_found"],
      [userPath(app, long), 400, "invalid_user"],
      [`${userPath(app, "ivy")}?own=not%20a%20key`, 400, "invalid_key"],
      [`${userPath(app, "ivy")}?own=`, 400, "invalid_key"],
      [`/v1/apps/Bad/users/ivy/sessions`, 400, "invalid_key"],
    ];
    for (const [path, status, code] of cases) {
      const error = await errorOf(await call("GET", path));
      expect({ path, status: error.status, code: error.code }).toEqual({ path, status, code });
      expect(error.message).not.toContain("vvvv");
    }
  });

  it("answers 404 user_not_found in an app never used, and creates no app", async () => {
    const app = freshApp("never");
    for (const [method, path] of [
      ["GET", userPath(app, "nobody")],
      ["DELETE", userPath(app, "nobody")],
      ["DELETE", userPath(app, "nobody", "/some-handle")],
    ] as const) {
      const error = await errorOf(await call(method, path));
      expect({ method, path, status: error.status, code: error.code }).toEqual({
        method,
        path,
        status: 404,
        code: "user_not_found",
      });
    }
    expect(await errorOf(await call("GET", `/v1/apps/${app}`))).toMatchObject({
      status: 404,
      code: "app_not_found",
    });
  });

  it("answers 404 no_route for an empty user, saying a path segment is empty", async () => {
    const app = freshApp("blank");
    const error = await errorOf(await call("GET", `/v1/apps/${app}/users//sessions`));
    expect(error).toMatchObject({ status: 404, code: "no_route" });
    expect(error.message).toContain("an empty segment");
  });
});

describe("DELETE /v1/apps/:app/users/:user/sessions (end all, or all but one)", () => {
  it("ends them all at once: no transport finds any of them once it answers", async () => {
    const app = freshApp("end-all");
    expect((await call("PUT", `/v1/apps/${app}`, { shards: 4 })).status).toBe(200);
    await endMove(app, 1);
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push((await signIn(app, `d${i}`, "jo")).key as string);
    const other = await signIn(app, "other", "kim");
    const response = await call("DELETE", userPath(app, "jo"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ended: 5 });
    const router = new SessionRouter(ns());
    for (const key of keys) {
      expect((await call("GET", `/v1/apps/${app}/sessions/${key}`)).status).toBe(404);
      expect(unwrap(await service().query(app, key))).toBeNull();
      expect(unwrap(await router.query(app, key))).toBeNull();
    }
    expect(await errorOf(await call("GET", userPath(app, "jo")))).toMatchObject({
      status: 404,
      code: "user_not_found",
    });
    expect((await call("GET", `/v1/apps/${app}/sessions/${other.key}`)).status).toBe(200);
  });

  it("gives each ended session exactly one end event, with reason revoked", async () => {
    const app = freshApp("revoked");
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) keys.push((await signIn(app, `r${i}`, "lee")).key as string);
    expect(await (await call("DELETE", userPath(app, "lee"))).json()).toEqual({ ended: 3 });
    await settleEvents(app, [manager(app)]);
    const revoked = eventsOf(app).filter((e) => e.type === "end" && e.reason === "revoked");
    expect(revoked.map((e) => e.key).sort()).toEqual([...keys].sort());
  });

  it("ends all but the caller's own with ?except=", async () => {
    const app = freshApp("except");
    const own = await signIn(app, "mine", "max");
    const others = [await signIn(app, "o1", "max"), await signIn(app, "o2", "max")];
    const response = await call("DELETE", `${userPath(app, "max")}?except=${own.key}`);
    expect(await response.json()).toEqual({ ended: 2 });
    expect((await call("GET", `/v1/apps/${app}/sessions/${own.key}`)).status).toBe(200);
    for (const other of others) {
      expect((await call("GET", `/v1/apps/${app}/sessions/${other.key}`)).status).toBe(404);
    }
    const listed = await call("GET", `${userPath(app, "max")}?own=${own.key}`);
    expect(await listed.json()).toMatchObject({ sessions: [{ current: true }] });
  });

  it("refuses an unknown user, a bad user and an except that is not a key, and ends nothing", async () => {
    const app = freshApp("end-bad");
    const kept = await signIn(app, "k", "ned");
    const before = await rowsWritten(app);
    const cases: [string, number, string][] = [
      [userPath(app, "nobody"), 404, "user_not_found"],
      [userPath(app, "w".repeat(257)), 400, "invalid_user"],
      [`${userPath(app, "ned")}?except=a%20b`, 400, "invalid_key"],
      [`${userPath(app, "ned")}?except=`, 400, "invalid_key"],
    ];
    for (const [path, status, code] of cases) {
      const error = await errorOf(await call("DELETE", path));
      expect({ path, status: error.status, code: error.code }).toEqual({ path, status, code });
    }
    expect(await rowsWritten(app)).toBe(before);
    expect((await call("GET", `/v1/apps/${app}/sessions/${kept.key}`)).status).toBe(200);
  });
});

describe("DELETE /v1/apps/:app/users/:user/sessions/:handle (end one)", () => {
  it("ends the one session with the handle, and no other", async () => {
    const app = freshApp("one");
    const a = await signIn(app, "a", "oz", { device: "A" });
    const b = await signIn(app, "b", "oz", { device: "B" });
    const listed = (await (await call("GET", `${userPath(app, "oz")}?own=${a.key}`)).json()) as {
      sessions: { handle: string; current: boolean }[];
    };
    const handle = listed.sessions.find((s) => s.current)?.handle as string;
    const response = await call("DELETE", userPath(app, "oz", `/${handle}`));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ended: 1 });
    expect((await call("GET", `/v1/apps/${app}/sessions/${a.key}`)).status).toBe(404);
    expect((await call("GET", `/v1/apps/${app}/sessions/${b.key}`)).status).toBe(200);
    const again = await errorOf(await call("DELETE", userPath(app, "oz", `/${handle}`)));
    expect(again).toMatchObject({ status: 404, code: "handle_not_found" });
  });

  it("refuses an unknown handle, another user's handle, a key and a malformed handle, ending nothing", async () => {
    const app = freshApp("one-bad");
    const mine = await signIn(app, "m", "pat");
    const theirs = await signIn(app, "t", "quin");
    const list = async (user: string) =>
      (
        (await (await call("GET", userPath(app, user))).json()) as {
          sessions: { handle: string }[];
        }
      ).sessions;
    const [theirHandle] = (await list("quin")).map((s) => s.handle);
    const before = await rowsWritten(app);
    const cases: [string, number, string][] = [
      [userPath(app, "pat", "/unknown-handle"), 404, "handle_not_found"],
      [userPath(app, "pat", `/${theirHandle}`), 404, "handle_not_found"],
      [userPath(app, "pat", `/${(mine.key as string).split("!")[1]}`), 404, "handle_not_found"],
      [userPath(app, "pat", `/${mine.key}`), 400, "invalid_input"],
      [userPath(app, "pat", `/${"h".repeat(65)}`), 400, "invalid_input"],
      [userPath(app, "nobody", `/${theirHandle}`), 404, "user_not_found"],
      [userPath(app, "x".repeat(257), `/${theirHandle}`), 400, "invalid_user"],
    ];
    for (const [path, status, code] of cases) {
      const error = await errorOf(await call("DELETE", path));
      expect({ path, status: error.status, code: error.code }).toEqual({ path, status, code });
    }
    expect(await rowsWritten(app)).toBe(before);
    expect(await list("pat")).toHaveLength(1);
    expect(await list("quin")).toHaveLength(1);
    expect((await call("GET", `/v1/apps/${app}/sessions/${theirs.key}`)).status).toBe(200);
  });
});

describe("privacy over HTTP", () => {
  it("never puts the user in a key, a handle, an error answer or a log line", async () => {
    const app = freshApp("privacy");
    const user = "alice@example.com";
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      }),
    );
    const errors: string[] = [];
    const refused = async (response: Response) => {
      expect(response.status).toBeGreaterThanOrEqual(400);
      errors.push(await response.text());
    };
    try {
      const signed = await signIn(app, "p", user);
      expect(signed.key).not.toContain("alice");
      const listed = (await (
        await call("GET", `${userPath(app, user)}?own=${signed.key}`)
      ).json()) as {
        sessions: { handle: string }[];
      };
      for (const s of listed.sessions) expect(s.handle).not.toContain("alice");
      const path = `/v1/apps/${app}/sessions/${signed.key}/sign-in`;
      await refused(await call("POST", path, { user, labels: [1], changes: { version: 1 } }));
      await refused(await call("POST", path, { user: `${user}${"x".repeat(300)}`, changes: {} }));
      await refused(await call("DELETE", userPath(app, user, "/nope")));
      await refused(await call("GET", userPath(app, "bob@example.com")));
      await refused(await call("GET", userPath(app, `${user}${"y".repeat(300)}`)));
      await refused(await call("GET", userPath(app, user, "/handle/more")));
      await refused(await call("PUT", userPath(app, user)));
      expect(await (await call("DELETE", userPath(app, user))).json()).toEqual({ ended: 1 });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(errors).toHaveLength(7);
    expect(errors.filter((text) => /alice|bob|example/.test(text))).toEqual([]);
    expect(logged.filter((line) => /alice|bob|example\.com/.test(line))).toEqual([]);
  });
});

describe("the user routes, as the other routes", () => {
  it("answer other methods with 405 and Allow", async () => {
    const app = freshApp("methods");
    const cases: [string, string, string][] = [
      ["PUT", userPath(app, "u"), "GET, HEAD, DELETE"],
      ["POST", userPath(app, "u"), "GET, HEAD, DELETE"],
      ["GET", userPath(app, "u", "/h"), "DELETE"],
      ["GET", `/v1/apps/${app}/sessions/k/sign-in`, "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const response = await call(method, path);
      expect({ path, method, status: response.status }).toEqual({ path, method, status: 405 });
      expect(response.headers.get("Allow")).toBe(allow);
      expect(await errorOf(response)).toMatchObject({ code: "method_not_allowed" });
    }
  });

  it("need the API token", async () => {
    const app = freshApp("token");
    for (const [method, path] of [
      ["GET", userPath(app, "u")],
      ["DELETE", userPath(app, "u")],
      ["DELETE", userPath(app, "u", "/h")],
      ["POST", `/v1/apps/${app}/sessions/k/sign-in`],
    ] as const) {
      const response = await exportsFetch(path, method, undefined, undefined, "wrong");
      expect(response.status).toBe(401);
    }
  });
});

/** `exports.default.fetch` with a raw body, a media type and a token of the test's choosing. */
async function exportsFetch(
  path: string,
  method: string,
  body?: string,
  contentType?: string,
  token = "test-token",
): Promise<Response> {
  const { exports } = await import("cloudflare:workers");
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (contentType !== undefined) headers["Content-Type"] = contentType;
  return exports.default.fetch(
    new Request(`https://sessions.test${path}`, { method, headers, body }),
  );
}
