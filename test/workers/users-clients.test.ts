import { beforeEach, describe, expect, it } from "vitest";
import { tagOf } from "../../src/core/names";
import { userTag } from "../../src/core/users";
import { ConnectionManager, type RemoteSessionManager, SessionError } from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";
import { TRANSPORTS } from "./transports";

const fixtures = TRANSPORTS;

let counter = 0;
function freshApp(prefix: string): string {
  counter++;
  return `uc-${prefix}-${counter}`;
}

beforeEach(() => {
  testClock.now = T0;
});

/** Signs a new session at `key` in as `user` with a device label; answers its new key. */
async function signedIn(manager: RemoteSessionManager, key: string, user: string) {
  const data = await manager.get(key);
  data.set("seen", key);
  await manager.signIn(data, user, { device: key });
  return data.key;
}

/** The typed error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

describe.each(fixtures)("users over the $name", ({ name, factory: makeFactory }) => {
  const slug = name.toLowerCase().replace(/[^a-z]+/g, "-");

  it("signs a session in: its data then stands for the new key, with the user", async () => {
    const app = freshApp(`${slug}-sign-in`);
    const factory = makeFactory(app);
    const manager = await factory.open(new ConnectionManager());
    const data = await manager.get("anon");
    data.set("cart", 1);
    await manager.connection.commit();
    data.set("more", 2);
    expect(await manager.signIn(data, "ann", { device: "Laptop" })).toBe(data);
    expect(data.key).not.toBe("anon");
    expect(tagOf(data.key)).toBe(await userTag(app, "ann"));
    expect(data.user).toBe("ann");
    expect(data.version).toBe(1);
    expect(data.toJSON()).toEqual({ cart: 1, more: 2 });

    const other = await factory.open();
    expect(await other.query("anon")).toBeUndefined();
    const read = await other.get(data.key);
    expect(read.user).toBe("ann");
    expect(read.toJSON()).toEqual({ cart: 1, more: 2 });
  });

  it("lists the user's sessions and ends all but one, one by handle, then all", async () => {
    const app = freshApp(`${slug}-end`);
    const factory = makeFactory(app);
    const manager = await factory.open();
    // A new unit of work each time: the manager's own holds the sessions it signed in.
    const live = async (key: string) => (await factory.open()).has(key);
    const own = await signedIn(manager, "own", "bo");
    const others = [];
    for (const key of ["o1", "o2", "o3"]) others.push(await signedIn(manager, key, "bo"));
    await signedIn(manager, "stranger", "cy");

    const listed = await manager.userSessions("bo", own);
    expect(listed.user).toBe("bo");
    expect(listed.sessions).toHaveLength(4);
    expect(listed.sessions.filter((s) => s.current).map((s) => s.labels)).toEqual([
      { device: "own" },
    ]);

    expect(await manager.endUserSessions("bo", { except: own })).toBe(3);
    for (const key of others) expect(await live(key)).toBe(false);
    expect(await live(own)).toBe(true);

    const later = [await signedIn(manager, "l1", "bo"), await signedIn(manager, "l2", "bo")];
    const { sessions } = await manager.userSessions("bo");
    const l1 = sessions.find((s) => s.labels.device === "l1");
    expect(await manager.endUserSessions("bo", { handle: l1?.handle as string })).toBe(1);
    expect(await live(later[0] as string)).toBe(false);
    expect(await live(later[1] as string)).toBe(true);

    expect(await manager.endUserSessions("bo", { all: true })).toBe(2);
    for (const key of [own, ...later]) expect(await live(key)).toBe(false);
    const gone = await rejection(manager.userSessions("bo"));
    expect(gone).toMatchObject({ code: "user_not_found", status: 404 });
    expect((await manager.userSessions("cy")).sessions).toHaveLength(1);
  });

  it("refuses bad input with typed errors, and the session keeps its changes", async () => {
    const app = freshApp(`${slug}-bad`);
    const factory = makeFactory(app);
    const manager = await factory.open();
    const live = async (key: string) => (await factory.open()).has(key);
    const data = await manager.get("k");
    data.set("x", 1);
    const cases: [() => Promise<unknown>, string, number][] = [
      [() => manager.signIn(data, ""), "invalid_user", 400],
      [() => manager.signIn(data, "u".repeat(257)), "invalid_user", 400],
      [() => manager.signIn(data, "u", { big: "x".repeat(2000) }), "invalid_labels", 400],
      [() => manager.userSessions("nobody"), "user_not_found", 404],
      [() => manager.endUserSessions("nobody", { all: true }), "user_not_found", 404],
    ];
    for (const [call, code, status] of cases) {
      expect(await rejection(call())).toMatchObject({ code, status });
    }
    expect(data.key).toBe("k");
    expect(data.user).toBeNull();
    expect(await live("k")).toBe(false);
    await manager.signIn(data, "u");
    expect(data.toJSON()).toEqual({ x: 1 });
    const foreign = await signedIn(manager, "f", "v");
    const handles = [
      "unknown-handle",
      (await manager.userSessions("v")).sessions[0]?.handle as string,
    ];
    for (const handle of handles) {
      expect(await rejection(manager.endUserSessions("u", { handle }))).toMatchObject({
        code: "handle_not_found",
        status: 404,
      });
    }
    expect(await live(foreign)).toBe(true);
    expect(await live(data.key)).toBe(true);
  });
});
