import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { type SessionEnv, sessions } from "../../src/hono/index";
import {
  ConflictError,
  ConnectionManager,
  DurableObjectSessionManagerFactory,
  HttpSessionManagerFactory,
  ServiceSessionManagerFactory,
  type SessionManagerFactory,
} from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";

// A session the program still holds after a commit stays live: its next change is stored by the
// next commit, or refused; never dropped (docs/DESIGN.md#units-of-work). The same over each
// transport, and through the Hono middleware.

const transports: [string, (app: string) => SessionManagerFactory][] = [
  [
    "Durable Object binding",
    (app) => new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, app),
  ],
  ["service binding", (app) => new ServiceSessionManagerFactory(env.SESSIONS, app)],
  [
    "HTTP",
    (app) =>
      new HttpSessionManagerFactory("https://sessions.test", app, {
        token: "test-token",
        fetch: (input, init) => exports.default.fetch(new Request(input, init)),
      }),
  ],
];

let counter = 0;
function freshApp(prefix: string): string {
  counter++;
  return `${prefix}-${counter}`;
}

/** The data stored at `key`, read in a unit of work of its own. */
async function storedData(factory: SessionManagerFactory, key: string) {
  const found = await (await factory.open()).query(key);
  return found?.toJSON();
}

beforeEach(() => {
  testClock.now = T0;
});

describe.each(transports)("a session held after commit, over the %s", (name, makeFactory) => {
  const slug = name.split(" ")[0]?.toLowerCase() ?? "t";

  it("stores a change made after a commit with the next commit", async () => {
    const factory = makeFactory(freshApp(`ac-${slug}`));
    const cm = new ConnectionManager();
    const manager = await factory.open(cm);
    const s = await manager.get("k");
    s.set("a", 1);
    await cm.commit();
    expect([s.version, s.isNew]).toEqual([1, false]);
    s.set("a", 2);
    const [view] = await cm.commit();
    expect(view?.version).toBe(2);
    expect(s.version).toBe(2);
    expect(await storedData(factory, "k")).toEqual({ a: 2 });
  });

  it("stores changes to several held sessions in one later commit", async () => {
    const factory = makeFactory(freshApp(`ac-many-${slug}`));
    const manager = await factory.open();
    const a = await manager.get("a");
    const b = await manager.get("b");
    a.set("n", 1);
    b.set("n", 1);
    await manager.connection.commit();
    a.set("n", 2);
    b.set("n", 2);
    expect((await manager.connection.commit()).map((v) => v?.version)).toEqual([2, 2]);
    expect(await storedData(factory, "a")).toEqual({ n: 2 });
    expect(await storedData(factory, "b")).toEqual({ n: 2 });
  });

  it("keeps a change made while its commit is in flight for the next commit", async () => {
    const factory = makeFactory(freshApp(`ac-flight-${slug}`));
    const manager = await factory.open();
    const s = await manager.get("k");
    s.set("a", 1);
    const inFlight = manager.connection.commit();
    s.set("b", 2);
    await inFlight;
    expect(s.toJSON()).toEqual({ a: 1, b: 2 });
    expect(s.isModified).toBe(true);
    await manager.connection.commit();
    expect(await storedData(factory, "k")).toEqual({ a: 1, b: 2 });
  });

  it("refuses a later change to a key another unit of work changed meanwhile", async () => {
    const factory = makeFactory(freshApp(`ac-conflict-${slug}`));
    const manager = await factory.open();
    const s = await manager.get("k");
    s.set("n", 1);
    await manager.connection.commit();
    const other = await factory.open();
    (await other.get("k")).set("n", 5);
    await other.connection.commit();
    s.set("n", 2);
    await expect(manager.connection.commit()).rejects.toBeInstanceOf(ConflictError);
    expect(await storedData(factory, "k")).toEqual({ n: 5 });
  });

  it("regenerate() refuses a held session whose commit is in flight, changing nothing", async () => {
    const factory = makeFactory(freshApp(`ac-regen-${slug}`));
    const manager = await factory.open();
    const s = await manager.get("old");
    s.set("a", 1);
    await manager.connection.commit();
    s.set("b", 2);
    const saving = manager.save(s);
    await expect(manager.regenerate("old", "new")).rejects.toMatchObject({
      code: "uncommitted_changes",
    });
    await saving;
    expect(await storedData(factory, "old")).toEqual({ a: 1, b: 2 });
    expect(await storedData(factory, "new")).toBeUndefined();
  });

  it("save() leaves the same session live: a change after it is stored by the next commit", async () => {
    const factory = makeFactory(freshApp(`ac-save-${slug}`));
    const manager = await factory.open();
    const s = await manager.get("k");
    s.set("a", 1);
    expect(await manager.save(s)).toBe(s);
    s.set("a", 2);
    await manager.connection.commit();
    expect(await storedData(factory, "k")).toEqual({ a: 2 });
  });

  it("a rotation by save() moves the held session: its later change lands at the new key", async () => {
    const factory = makeFactory(freshApp(`ac-rotate-${slug}`));
    const manager = await factory.open();
    const s = await manager.get("old");
    s.set("user", "fred");
    await manager.connection.commit();
    s.set("role", "admin");
    await manager.save(s, { newKey: "new" });
    expect(s.key).toBe("new");
    s.set("theme", "dark");
    await manager.connection.commit();
    expect(await storedData(factory, "new")).toEqual({
      user: "fred",
      role: "admin",
      theme: "dark",
    });
    expect(await storedData(factory, "old")).toBeUndefined();
  });
});

describe("a session held after save() in the Hono middleware", () => {
  function makeApp() {
    const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, freshApp("ac-mw"));
    const app = new Hono<SessionEnv>();
    app.use(sessions({ factory, secret: "a-test-secret-that-is-long-enough-0123456789" }));
    app.post("/save-then-change", async (c) => {
      const data = await c.get("session").data();
      data.set("a", 1);
      await c.get("session").save();
      data.set("a", 2);
      return c.text("ok");
    });
    app.post("/reload-then-invalidate-old", async (c) => {
      const data = await c.get("session").data();
      await c.get("session").reload();
      data.invalidate();
      return c.text("unreachable");
    });
    app.post("/reload-then-change-old", async (c) => {
      const data = await c.get("session").data();
      await c.get("session").reload();
      data.set("a", 3);
      return c.text("unreachable");
    });
    app.get("/read", async (c) => c.json((await c.get("session").data()).toJSON()));
    return app;
  }

  it("stores the change the handler made to its data after save()", async () => {
    const app = makeApp();
    const response = await app.request("/save-then-change", { method: "POST" });
    expect(response.status).toBe(200);
    const cookie = response.headers.get("set-cookie")?.split(";")[0] as string;
    expect(await (await app.request("/read", { headers: { cookie } })).json()).toEqual({ a: 2 });
  });

  it("refuses invalidate() of data the handler held from before reload(), instead of dropping it", async () => {
    const app = makeApp();
    app.onError((error, c) => c.json({ code: (error as { code?: string }).code }, 500));
    const response = await app.request("/reload-then-invalidate-old", { method: "POST" });
    expect(await response.json()).toEqual({ code: "session_replaced" });
  });

  it("refuses a change to data the handler held from before reload(), instead of dropping it", async () => {
    const app = makeApp();
    app.onError((error, c) => c.json({ code: (error as { code?: string }).code }, 500));
    const response = await app.request("/reload-then-change-old", { method: "POST" });
    expect(await response.json()).toEqual({ code: "session_replaced" });
  });
});
