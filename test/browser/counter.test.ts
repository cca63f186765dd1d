// The counter example in a real browser: headless Chromium (the system's, driven by
// playwright-core; nothing downloads a browser) against `wrangler dev` running the example and
// the session worker, as `npm run example` does. Run it with `npm run test:browser`.
//
// Environment: CHROMIUM (default /usr/bin/chromium), BROWSER_TEST_PORT and
// BROWSER_TEST_INSPECTOR_PORT (default: free ports), BROWSER_TEST_SCREENSHOTS (a directory for
// the screenshots; default a fresh one under the system's temporary directory).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  root,
  startWranglerDev,
  type WranglerDev,
} from "./wrangler-dev.ts";

const SECRET = "a-secret-for-the-browser-test-only-0123456789";
let server: WranglerDev | undefined;
let context: BrowserContext | undefined;
let page: Page;
let base: string;
let scratch: string;
let screenshots: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "edge-sessions-browser-"));
  screenshots = process.env.BROWSER_TEST_SCREENSHOTS ?? join(scratch, "screenshots");
  await mkdir(screenshots, { recursive: true });
  // The example first (it answers on the port), the session worker beside it.
  server = await startWranglerDev({
    configs: [join(root, "examples", "counter", "wrangler.toml"), join(root, "wrangler.toml")],
    vars: { SESSION_SECRET: SECRET },
    scratch,
    readyPath: "/",
  });
  base = server.base;

  context = await chromium.launchPersistentContext(join(scratch, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (process.env.BROWSER_TEST_SCREENSHOTS === undefined) {
    console.log(`screenshots: ${screenshots}`);
  }
  await rm(join(scratch, "profile"), { recursive: true, force: true });
  await rm(join(scratch, "state"), { recursive: true, force: true });
});

/** What the page shows: the user line, the count, the flash message (or `null`). */
async function shown() {
  return {
    user: (await page.locator("#user").textContent())?.trim(),
    count: await page.locator("#count").textContent(),
    flash:
      (await page.locator("#flash").count()) > 0
        ? await page.locator("#flash").textContent()
        : null,
  };
}

/** The `sid` cookie as the browser holds it. */
async function sid() {
  return (await (context as BrowserContext).cookies(base)).find((c) => c.name === "sid");
}

/** Puts `value` in the browser's `sid` cookie, as a tampering user (or script) would. */
async function setSid(value: string) {
  const current = context as BrowserContext;
  await current.clearCookies({ name: "sid" });
  await current.addCookies([
    { name: "sid", value, url: base, httpOnly: true, secure: true, sameSite: "Lax" },
  ]);
  assert.equal((await sid())?.value, value, "the browser holds the cookie as set");
}

async function count() {
  await page.click("#count-button");
  await page.waitForLoadState();
}

test("a visitor counts, logs in (rotated ID, count kept, flash once), is safe from altered cookies, and logs out", async (t) => {
  await page.goto(`${base}/`);
  assert.deepEqual(await shown(), { user: "Not logged in.", count: "0", flash: null });
  assert.equal(await sid(), undefined, "no cookie before anything is stored");

  await t.test("counts across reloads", async () => {
    await count();
    await count();
    assert.equal((await shown()).count, "2");
    await page.reload();
    assert.equal((await shown()).count, "2");
    const cookie = await sid();
    assert.ok(cookie, "the first count stored a session and set its cookie");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, "Lax");
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
  });

  const anonymous = (await sid())?.value as string;

  await t.test(
    "log in rotates the session ID, keeps the count, and shows the flash once",
    async () => {
      await page.fill("input[name=user]", "fred");
      await page.click("text=Log in");
      await page.waitForLoadState();
      assert.deepEqual(await shown(), {
        user: "Logged in as fred.",
        count: "2",
        flash: "welcome",
      });
      await page.screenshot({ path: join(screenshots, "logged-in.png"), fullPage: true });
      const rotated = (await sid())?.value as string;
      assert.notEqual(rotated.split(".")[0], anonymous.split(".")[0], "a new session ID at login");
      await page.reload();
      assert.deepEqual(await shown(), { user: "Logged in as fred.", count: "2", flash: null });
      await count();
      await page.reload();
      assert.equal((await shown()).count, "3");
    },
  );

  const loggedIn = (await sid())?.value as string;

  await t.test("the ID from before login opens nothing any more", async () => {
    await setSid(anonymous);
    await page.reload();
    assert.deepEqual(await shown(), { user: "Not logged in.", count: "0", flash: null });
  });

  await t.test("an altered cookie is no session, and the real one still works", async () => {
    const [id, signature] = loggedIn.split(".") as [string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.at(-1) as string);
    const altered = [
      // Another spelling of the same 256 signature bits (the last character's unused bits).
      `${id}.${signature.slice(0, -1)}${alphabet[last + 1]}`,
      // The separator percent-encoded, then the whole value quoted.
      `${id}%2E${signature}`,
      `"${id}.${signature}"`,
      // A forged signature.
      `${id}.${"A".repeat(43)}`,
    ];
    for (const value of altered) {
      await setSid(value);
      await page.reload();
      assert.deepEqual(
        await shown(),
        { user: "Not logged in.", count: "0", flash: null },
        `cookie ${value}`,
      );
    }
    await setSid(loggedIn);
    await page.reload();
    assert.deepEqual(await shown(), { user: "Logged in as fred.", count: "3", flash: null });
  });

  await t.test("log out ends the session and clears the cookie", async () => {
    await page.click("text=Log out");
    await page.waitForLoadState();
    assert.deepEqual(await shown(), { user: "Not logged in.", count: "0", flash: null });
    assert.equal(await sid(), undefined, "the cookie is cleared");
    await page.screenshot({ path: join(screenshots, "logged-out.png"), fullPage: true });
    // The cookie from before the logout opens nothing.
    await setSid(loggedIn);
    await page.reload();
    assert.deepEqual(await shown(), { user: "Not logged in.", count: "0", flash: null });
  });
});

test("two devices sign in as one user; the devices page lists both, and signs the other out at once", async (t) => {
  // Two browser contexts: two devices, each with its own cookies.
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  t.after(() => browser.close());
  const viewport = { width: 720, height: 300 }; // the size of the screenshot in docs/hono.md
  const laptop = await (await browser.newContext({ viewport })).newPage();
  const phone = await (await browser.newContext({ viewport })).newPage();
  const rows = (on: Page) => on.locator("#devices tr.device");

  for (const [device, name] of [
    [laptop, "Laptop"],
    [phone, "Phone"],
  ] as const) {
    await device.goto(`${base}/`);
    await device.fill("input[name=user]", "wilma");
    await device.fill("input[name=device]", name);
    await device.click("text=Log in");
    await device.waitForLoadState();
    assert.equal((await device.locator("#user").textContent())?.trim(), "Logged in as wilma.");
  }

  await laptop.click("#devices-link");
  await laptop.waitForLoadState();
  assert.equal(await rows(laptop).count(), 2, "the laptop lists both devices");
  assert.match(
    (await laptop.locator("#devices tr.device[data-current] .device-name").textContent()) ?? "",
    /^Laptop \(this device\)$/,
  );
  assert.equal(
    (
      await laptop.locator("#devices tr.device:not([data-current]) .device-name").textContent()
    )?.trim(),
    "Phone",
  );
  await laptop.screenshot({ path: join(screenshots, "devices.png"), fullPage: true });

  await laptop.click("#sign-out-others");
  await laptop.waitForLoadState();
  assert.equal(
    (await laptop.locator("#flash").textContent())?.trim(),
    "Signed out 1 other device.",
  );
  assert.equal(await rows(laptop).count(), 1, "the laptop alone is left");

  // The phone's very next request finds no session, and its cookie is cleared.
  await phone.reload();
  assert.equal((await phone.locator("#user").textContent())?.trim(), "Not logged in.");
  const phoneCookies = await phone.context().cookies(base);
  assert.equal(
    phoneCookies.find((c) => c.name === "sid"),
    undefined,
    "the phone's cookie is cleared",
  );

  // The laptop is still signed in.
  await laptop.goto(`${base}/`);
  assert.equal((await laptop.locator("#user").textContent())?.trim(), "Logged in as wilma.");
});
