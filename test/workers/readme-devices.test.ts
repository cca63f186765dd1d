// The users snippet of docs/hono.md ("Users and devices"), run as a consumer Worker runs it: its
// sessions kept by the session worker through a real service binding (`env.SESSIONS`,
// vitest.config.ts), with no `app.onError` (typed errors answer with their own status).
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import app, { type Env } from "./readme-devices";

const bindings: Env = {
  SESSIONS: env.SESSIONS,
  SESSION_SECRET: "a-test-secret-for-the-devices-snippet-0123456789",
};

/** A browser (one device): its own cookie and User-Agent. */
class Device {
  cookie: string | undefined;
  constructor(readonly userAgent: string) {}

  async request(method: "GET" | "POST", path: string, form?: Record<string, string>) {
    const headers = new Headers({ origin: "http://localhost", "user-agent": this.userAgent });
    if (this.cookie !== undefined) headers.set("cookie", this.cookie);
    const body = form === undefined ? undefined : new URLSearchParams(form);
    const response = await app.request(path, { method, headers, body }, bindings);
    const set = response.headers.get("set-cookie");
    if (set !== null) this.cookie = /Max-Age=0/i.test(set) ? undefined : set.split(";")[0];
    return response;
  }

  /** The devices page's list (`null` when redirected: not signed in). */
  async devices() {
    const response = await this.request("GET", "/devices");
    if (response.status === 303) return null;
    expect(response.status).toBe(200);
    const text = await response.text();
    return [...text.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => ({
      device: (m[1] as string).split(",")[0],
      current: (m[1] as string).includes("(this device)"),
      handle: (m[1] as string).match(/\/devices\/([^/]+)\/sign-out/)?.[1],
    }));
  }
}

async function signedIn(user: string, userAgent: string): Promise<Device> {
  const device = new Device(userAgent);
  const response = await device.request("POST", "/login", { user });
  expect(response.status).toBe(303);
  return device;
}

describe("the devices snippet of docs/hono.md in a consumer Worker", () => {
  it("lists a user's devices, this one marked, and signs one out by its handle", async () => {
    const laptop = await signedIn("ann", "Laptop");
    const phone = await signedIn("ann", "Phone");
    await signedIn("bob", "Bob's");
    const list = await laptop.devices();
    // Both signed in at the same moment (the objects' clock stands still): in no set order.
    expect(
      list
        ?.map(({ device, current }) => ({ device, current }))
        .sort((x, y) => (x.device as string).localeCompare(y.device as string)),
    ).toEqual([
      { device: "Laptop", current: true },
      { device: "Phone", current: false },
    ]);
    const handle = list?.find((d) => d.device === "Phone")?.handle as string;
    expect(handle).toBeTruthy();
    expect(phone.cookie).not.toContain(handle);
    expect((await laptop.request("POST", `/devices/${handle}/sign-out`)).status).toBe(303);
    expect(await phone.devices()).toBeNull();
    expect((await laptop.devices())?.map((d) => d.device)).toEqual(["Laptop"]);
  });

  it("signs the other devices out at once, and keeps this one", async () => {
    const a = await signedIn("carol", "A");
    const b = await signedIn("carol", "B");
    const c = await signedIn("carol", "C");
    expect((await a.request("POST", "/devices/sign-out-others")).status).toBe(303);
    expect(await b.devices()).toBeNull();
    expect(await c.devices()).toBeNull();
    expect((await a.devices())?.map((d) => [d.device, d.current])).toEqual([["A", true]]);
  });

  it("answers a handle of another user's session or of none with 404 handle_not_found, and an empty user with 400, ending nothing", async () => {
    const a = await signedIn("dave", "A");
    const erin1 = await signedIn("erin", "E1");
    const erin2 = await signedIn("erin", "E2");
    const erins = (await erin1.devices())?.find((d) => !d.current)?.handle as string;
    expect(erins).toBeTruthy();
    // Hono's default error handler logs what it answers: kept out of the test's output.
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const foreign = await a.request("POST", `/devices/${erins}/sign-out`);
    const unknown = await a.request("POST", "/devices/not-a-handle/sign-out");
    const empty = await new Device("X").request("POST", "/login", { user: "" });
    logged.mockRestore();
    for (const refused of [foreign, unknown]) {
      expect(refused.status).toBe(404);
      expect(await refused.json()).toMatchObject({ error: { code: "handle_not_found" } });
    }
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { code: "invalid_user" } });
    expect((await erin2.devices())?.length).toBe(2);
    expect((await a.devices())?.map((d) => d.device)).toEqual(["A"]);
  });
});
