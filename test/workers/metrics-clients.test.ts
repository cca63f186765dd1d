import { beforeEach, describe, expect, it } from "vitest";
import { ConnectionManager } from "../../src/index";
import { testClock } from "./clock";
import { T0 } from "./helpers";
import { TRANSPORTS } from "./transports";

const fixtures = TRANSPORTS;

let counter = 0;

beforeEach(() => {
  testClock.now = T0;
});

describe.each(fixtures)("metrics over the $name", ({ name, factory: makeFactory }) => {
  const slug = name.toLowerCase().replace(/[^a-z]+/g, "-");

  it("answers the app's figures after its sessions begin and end", async () => {
    const app = `mc-${slug}-${++counter}`;
    const factory = makeFactory(app);
    const connection = new ConnectionManager();
    const manager = await factory.open(connection);
    for (const key of ["a", "b", "c"]) (await manager.get(key)).set("n", 1);
    await connection.commit();
    (await manager.get("b")).invalidate();
    await connection.commit();
    const figures = await manager.metrics();
    expect(figures.app).toBe(app);
    expect(figures.live).toBe(2);
    expect(figures.totals.created).toBe(3);
    expect(figures.totals.ended.invalidated).toBe(1);
    // Three changesets that stored sessions, one that ended one.
    expect(figures.totals.commits).toBe(4);
    expect(figures.shards.missing).toEqual([]);
  });

  it("counts a sign-in as one commit: the session under its new key created, the old ended", async () => {
    const app = `mc-${slug}-sign-in-${++counter}`;
    const connection = new ConnectionManager();
    const manager = await makeFactory(app).open(connection);
    const data = await manager.get("anon");
    data.set("cart", 1);
    await connection.commit();
    await manager.signIn(data, "ann", { device: "Laptop" });
    const figures = await manager.metrics();
    expect(figures.totals.commits).toBe(2);
    expect(figures.totals.created).toBe(2);
    expect(figures.totals.ended.regenerated).toBe(1);
    expect(figures.live).toBe(1);
  });

  it("answers zeros for an app just opened", async () => {
    const manager = await makeFactory(`mc-${slug}-new-${++counter}`).open();
    const figures = await manager.metrics();
    expect(figures.live).toBe(0);
    expect(figures.totals.created).toBe(0);
    expect(figures.minutes).toEqual([]);
    expect(figures.timeAlive.mean).toBeNull();
  });
});
