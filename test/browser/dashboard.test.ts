// The dashboard in a real browser: headless Chromium (the system's, driven by playwright-core;
// nothing downloads a browser) against `wrangler dev` running the session worker alone. An app
// with 4 shards gets sessions (some ended, by three reasons), commits and a conflict, then a
// change to 8 shards; the page, given the token and the app, must show exactly the figures of
// the JSON it read, and say clearly what is wrong with a wrong token or an unknown app. Run it
// with `npm run test:browser`.
//
// Environment: CHROMIUM (default /usr/bin/chromium), BROWSER_TEST_PORT and
// BROWSER_TEST_INSPECTOR_PORT (default: free ports), BROWSER_TEST_SCREENSHOTS (a directory for
// the screenshot; default a fresh one under the system's temporary directory).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  root,
  startWranglerDev,
  type WranglerDev,
} from "./wrangler-dev.ts";

const TOKEN = "a-token-for-the-dashboard-test-only";
const APP = "shop";
const REASONS = ["expired", "invalidated", "regenerated", "revoked", "evicted"] as const;

// What the functions this test runs in the page use of it (this file is checked without the DOM
// library, as Node code; in the page these are the browser's own).
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
  querySelectorAll(selectors: string): Iterable<PageElement>;
}
declare const document: {
  querySelector(selectors: string): PageElement | null;
  querySelectorAll(selectors: string): Iterable<PageElement>;
  cookie: string;
};
declare const sessionStorage: { length: number };
declare const localStorage: { length: number };

let server: WranglerDev | undefined;
let browser: Browser | undefined;
let base: string;
let scratch: string;
let screenshots: string;
/** Sessions moved to a new key (a rotation ends one session and begins another). */
let rotated = 0;

/** A call to the HTTP API with the token; the JSON answer (or null for none). */
async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const response = await fetch(`${base}/v1${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, ...(text === "" ? {} : JSON.parse(text)) };
}

type Json = Record<string, unknown> & { status: number };

/** Stores a session at `key` with `{ n: 1 }`: its sid and version. */
async function store(key: string): Promise<{ sid: string; version: number }> {
  const stored = await api("PATCH", `/apps/${APP}/sessions/${key}`, { version: 0, set: { n: 1 } });
  assert.equal(stored.status, 200, JSON.stringify(stored));
  return { sid: stored.sid as string, version: stored.version as number };
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "edge-sessions-dashboard-"));
  screenshots = process.env.BROWSER_TEST_SCREENSHOTS ?? join(scratch, "screenshots");
  await mkdir(screenshots, { recursive: true });
  server = await startWranglerDev({
    configs: [join(root, "wrangler.toml")],
    vars: { SESSIONS_API_TOKEN: TOKEN },
    scratch,
    readyPath: "/healthz",
  });
  base = server.base;

  // An app with 4 shards: 24 sessions, 5 invalidated, 3 rotated, 6 changed again, and a conflict.
  assert.equal((await api("PUT", `/apps/${APP}`, { shards: 4 })).status, 200);
  const sessions = [];
  for (let i = 0; i < 24; i++) sessions.push({ key: `s${i}`, ...(await store(`s${i}`)) });
  for (const { key } of sessions.slice(0, 5)) {
    assert.equal((await api("DELETE", `/apps/${APP}/sessions/${key}`)).status, 204);
  }
  for (const { key } of sessions.slice(5, 8)) {
    const moved = await api("POST", `/apps/${APP}/sessions/${key}/regenerate`, {
      newKey: `${key}-new`,
    });
    // A new key of another shard is refused (wrong_shard), and the session stays.
    assert.ok([200, 409].includes(moved.status), JSON.stringify(moved));
    if (moved.status === 200) rotated++;
  }
  for (const { key, sid, version } of sessions.slice(10, 16)) {
    const path = `/apps/${APP}/sessions/${key}`;
    assert.equal((await api("PATCH", path, { sid, version, set: { n: 2 } })).status, 200);
  }
  const { key, sid, version } = sessions[10] as (typeof sessions)[number];
  const stale = await api("PATCH", `/apps/${APP}/sessions/${key}`, { sid, version, set: { n: 3 } });
  assert.equal(stale.status, 409, "a commit from a version that changed the same key conflicts");
  // A change of shard count: the page shows the move while it lasts.
  assert.equal((await api("PUT", `/apps/${APP}`, { shards: 8 })).status, 200);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (process.env.BROWSER_TEST_SCREENSHOTS === undefined) {
    console.log(`screenshots: ${screenshots}`);
  }
  await rm(join(scratch, "state"), { recursive: true, force: true });
  await rm(join(scratch, "registry"), { recursive: true, force: true });
});

/** A fresh page (its own sessionStorage) that records what the browser refuses or fails at. */
async function newPage(): Promise<{ page: Page; troubles: string[] }> {
  const context = await (browser as Browser).newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const troubles: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") troubles.push(message.text());
  });
  page.on("pageerror", (error) => troubles.push(error.message));
  return { page, troubles };
}

async function connect(page: Page, app: string, token: string): Promise<void> {
  await page.fill("#app", app);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
}

/** The figure names of the page, with the value each carries and the text it shows. */
type Shown = { name: string; value: string; text: string }[];

/**
 * The metrics answer the page read and the figures it shows from it: the page's next answer is
 * caught on its way, then the figures are read once the page shows that answer (and again, if
 * the page polled once more in between).
 */
async function shownWithJson(page: Page): Promise<{ json: Metrics; shown: Shown; rows: Row[] }> {
  for (;;) {
    const response = await page.waitForResponse((r) => r.url().endsWith(`/v1/apps/${APP}/metrics`));
    assert.equal(response.status(), 200);
    const json = (await response.json()) as Metrics;
    await page.waitForSelector(`#figures[data-at="${json.at}"]`, { state: "attached" });
    const read = await page.evaluate((at) => {
      if (document.querySelector("#figures")?.getAttribute("data-at") !== String(at)) return null;
      const shown = [...document.querySelectorAll("[data-figure]")].map((el) => ({
        name: el.getAttribute("data-figure") as string,
        value: el.getAttribute("data-value") as string,
        text: (el.textContent ?? "").trim(),
      }));
      const rows = [...document.querySelectorAll("#minutes-table tbody tr")].map((tr) => ({
        minute: Number(tr.getAttribute("data-minute")),
        cells: Object.fromEntries(
          [...tr.querySelectorAll("td")].map((td) => [
            td.getAttribute("data-field") as string,
            td.textContent as string,
          ]),
        ),
      }));
      return { shown, rows };
    }, json.at);
    if (read !== null) return { json, ...read };
  }
}

type Counts = {
  created: number;
  ended: Record<string, number>;
  commits: number;
  conflicts: number;
  refused: Record<string, number>;
};
type Metrics = Counts & {
  at: number;
  live: number;
  totals: Counts;
  minutes: (Counts & { minute: number })[];
  shards: { count: number; answered: number; missing: string[] };
  perShard: { shard: string; answered: boolean; live: number; moving: number }[];
  move: { from: number; to: number; left: number } | null;
  [name: string]: unknown;
};
type Row = { minute: number; cells: Record<string, string> };

/** What a figure of the page stands for in the JSON (`hour.*`: summed over `minutes`). */
function expected(json: Metrics, name: string): unknown {
  const path = name.split(".");
  if (path[0] === "hour") {
    const sum = (f: (m: Counts) => number) => json.minutes.reduce((s, m) => s + f(m), 0);
    const total = (r: Record<string, number>) => Object.values(r).reduce((s, n) => s + n, 0);
    switch (path[1]) {
      case "ended":
        return sum((m) => total(m.ended));
      case "refused":
        return path[2] === undefined
          ? sum((m) => total(m.refused))
          : sum((m) => m.refused[path[2] as string] ?? 0);
      default:
        return sum((m) => m[path[1] as "created" | "commits" | "conflicts"]);
    }
  }
  if (name === "shards.missing") return json.shards.missing.join(",");
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], json);
}

/** Every figure's value is the JSON's (a move's places, empty when there is none, aside). */
function assertValues(json: Metrics, shown: Shown): void {
  for (const { name, value } of shown) {
    if (name.startsWith("move.") && json.move === null) continue;
    const want = expected(json, name);
    assert.equal(value, want === null ? "" : String(want), `${name}: data-value`);
  }
}

test("the page is served without a token, with a strict Content-Security-Policy", async () => {
  const response = await fetch(`${base}/dashboard`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("Content-Type") ?? "", /^text\/html/);
  const csp = response.headers.get("Content-Security-Policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.equal(response.headers.get("Cache-Control"), "no-store");
});

test("a wrong token and an unknown app are said clearly, and nothing is shown", async () => {
  const { page, troubles } = await newPage();
  await page.goto(`${base}/dashboard`);
  await connect(page, APP, "not-the-token");
  await page.waitForSelector("#problem:not([hidden])");
  assert.match((await page.textContent("#problem")) ?? "", /API token was refused \(401/);
  assert.equal(await page.isVisible("#connect"), true, "the form asks again");
  assert.equal(await page.isVisible("#figures"), false);

  await connect(page, "no-such-app", TOKEN);
  await page.waitForFunction(() =>
    document.querySelector("#problem")?.textContent?.includes("no-such-app"),
  );
  assert.match((await page.textContent("#problem")) ?? "", /no app named “no-such-app” \(404/);
  assert.equal(await page.isVisible("#figures"), false);
  // Failed fetches are logged by the browser; nothing else may go wrong (a CSP refusal would).
  assert.deepEqual(
    troubles.filter((t) => !t.includes("Failed to load resource")),
    [],
  );
  await page.context().close();
});

test("every figure on the page is the one of the JSON it read, and the charts are drawn", async () => {
  const { page, troubles } = await newPage();
  await page.goto(`${base}/dashboard`);
  const first = shownWithJson(page);
  await connect(page, APP, TOKEN);
  const { json, shown, rows } = await first;
  const independent = await api("GET", `/apps/${APP}/metrics`);

  // What the page read is what the API answers (nothing has changed since but the clock).
  assert.equal(independent.live, json.live);
  assert.deepEqual(independent.totals, json.totals);
  assert.equal(json.live, 19, "24 stored, 5 invalidated (a rotation ends one, begins one)");
  assert.equal(json.totals.created, 24 + rotated);
  assert.deepEqual(json.totals.ended, {
    ...json.totals.ended,
    invalidated: 5,
    regenerated: rotated,
  });
  assert.equal(json.totals.conflicts, 1);

  const names = new Set(shown.map((s) => s.name));
  for (const name of [
    "live",
    "hour.created",
    "hour.ended",
    "hour.commits",
    "hour.conflicts",
    "sweepLag",
    "outbox.backlog",
    "outbox.oldestAge",
    "shards.missing",
    "timeAlive.p50",
    "timeAlive.p99",
    "idle.p90",
    "totals.refused.conflict",
    ...REASONS.map((r) => `totals.ended.${r}`),
    ...json.perShard.map((_, i) => `perShard.${i}.live`),
  ]) {
    assert.ok(names.has(name), `the page shows ${name}`);
  }
  if (json.move !== null) {
    for (const f of ["from", "to", "left"]) assert.ok(names.has(`move.${f}`), `move.${f}`);
  }
  for (const { name, value, text } of shown) {
    // A move that ended shows no figures (the places stay, empty).
    if (name.startsWith("move.") && json.move === null) continue;
    const want = expected(json, name);
    assert.equal(value, want === null ? "" : String(want), `${name}: data-value`);
    if (
      typeof want === "number" &&
      Number.isInteger(want) &&
      !/^(sweepLag|outbox\.oldestAge|timeAlive|idle)/.test(name)
    ) {
      assert.equal(text.replaceAll(",", ""), String(want), `${name}: the number shown`);
    }
    if (name.startsWith("timeAlive.") || name.startsWith("idle.") || name === "sweepLag") {
      if (!name.endsWith(".count"))
        assert.match(
          text,
          want === null ? /^–$/ : /^\d+(\.\d)? (s|min|h|d)\b/,
          `${name}: a duration`,
        );
    }
  }

  // The hour, minute by minute: every minute, zeros where the JSON has none.
  assert.equal(rows.length, 60);
  const last = Math.floor(json.at / 60) * 60;
  assert.deepEqual(
    rows.map((r) => r.minute),
    Array.from({ length: 60 }, (_, i) => last - i * 60),
  );
  for (const row of rows) {
    const m = json.minutes.find((x) => x.minute === row.minute);
    const want: Record<string, string> = {
      created: String(m?.created ?? 0),
      ...Object.fromEntries(REASONS.map((r) => [`ended.${r}`, String(m?.ended[r] ?? 0)])),
      commits: String(m?.commits ?? 0),
      conflicts: String(m?.conflicts ?? 0),
      refused: String(Object.values(m?.refused ?? {}).reduce((s, n) => s + n, 0)),
    };
    assert.deepEqual(row.cells, want, `minute ${row.minute}`);
  }

  // Each chart is drawn and has a text alternative.
  for (const id of [
    "minutes-chart",
    "commits-chart",
    "shards-chart",
    "alive-chart",
    "idle-chart",
  ]) {
    assert.equal(await page.locator(`#${id} svg`).count(), 1, `${id} is drawn`);
    assert.match((await page.getAttribute(`#${id}`, "aria-label")) ?? "", /\d/, `${id}: label`);
  }
  assert.equal(await page.locator("#shards-chart g.bar").count(), json.perShard.length);
  assert.equal(await page.isVisible("#move"), json.move !== null);
  assert.deepEqual(troubles, []);

  await page.screenshot({ path: join(screenshots, "dashboard.png"), fullPage: true });
  await page.context().close();
});

test("a move under way and a shard that did not answer are shown (the answer altered on its way)", async () => {
  const { page, troubles } = await newPage();
  // The moves of this test's app end within a second, and its shards answer: the page's answer
  // is altered in the browser, so that both show whatever the timing.
  await page.route(`**/v1/apps/${APP}/metrics`, async (route) => {
    const response = await route.fetch();
    const json = (await response.json()) as Metrics;
    const late = json.perShard[2] as Metrics["perShard"][number];
    late.answered = false;
    late.live = 0;
    json.shards = { ...json.shards, answered: json.shards.count - 1, missing: [late.shard] };
    json.move = { from: 4, to: 8, left: 7 };
    await route.fulfill({ response, json });
  });
  await page.goto(`${base}/dashboard`);
  const first = shownWithJson(page);
  await connect(page, APP, TOKEN);
  const { json, shown } = await first;
  assert.deepEqual(json.move, { from: 4, to: 8, left: 7 });
  assertValues(json, shown);
  assert.equal(await page.isVisible("#move"), true);
  assert.equal(await page.isVisible("#no-move"), false);
  assert.match(
    (await page.textContent("#move")) ?? "",
    /From 4 to 8 shards: 7 sessions left to move/,
  );
  assert.match(
    (await page.textContent("#missing-line")) ?? "",
    new RegExp(`Did not answer: ${json.shards.missing[0]}`),
  );
  assert.equal(await page.locator("#shards-chart [data-missing]").count(), 1);
  assert.equal(
    await page.locator(`#shards-chart [data-figure="perShard.2.live"]`).count(),
    0,
    "a shard that did not answer shows no count",
  );
  assert.deepEqual(troubles, []);
  await page.screenshot({ path: join(screenshots, "dashboard-move.png"), fullPage: true });
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await page.context().close();
});

test("an app being deleted shows what is left, then that it is gone (the answer altered on its way)", async () => {
  const { page, troubles } = await newPage();
  let deleted = false;
  await page.route(`**/v1/apps/${APP}/metrics`, async (route) => {
    if (deleted) {
      const error = { code: "app_not_found", message: `App "${APP}" does not exist.` };
      return route.fulfill({ status: 404, json: { error } });
    }
    const response = await route.fetch();
    const json = (await response.json()) as Metrics;
    json.deleting = true;
    json.live = 1234;
    json.outbox = { backlog: 56, oldestAge: 2 };
    await route.fulfill({ response, json });
  });
  await page.goto(`${base}/dashboard`);
  const first = shownWithJson(page);
  await connect(page, APP, TOKEN);
  const { json, shown } = await first;
  await page.waitForSelector("#deletion:not([hidden])");
  assert.match(
    (await page.textContent("#deletion")) ?? "",
    /App shop is being deleted: 1,234 sessions left to end, 56 end events left to send\./,
  );
  assertValues(json, shown);

  deleted = true;
  await page.waitForSelector("#connect:not([hidden])", { timeout: 15_000 });
  assert.match((await page.textContent("#problem")) ?? "", /App “shop” has been deleted/);
  assert.equal(await page.isVisible("#deletion"), false);
  assert.equal(await page.isVisible("#figures"), false);
  assert.deepEqual(
    troubles.filter((t) => !t.includes("Failed to load resource")),
    [],
  );
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await page.context().close();
});

test("an app deleted while the page shows it: the page says it is gone", async () => {
  const app = "old-shop";
  for (const key of ["a", "b", "c"]) {
    const path = `/apps/${app}/sessions/${key}`;
    assert.equal((await api("PATCH", path, { version: 0, set: { n: 1 } })).status, 200);
  }
  const { page } = await newPage();
  await page.goto(`${base}/dashboard`);
  await connect(page, app, TOKEN);
  await page.waitForSelector("#figures:not([hidden])");
  assert.equal(await page.textContent('[data-figure="live"]'), "3");
  // Deleting goes on in the background: call again until it says it is done.
  for (let i = 0; ; i++) {
    const answer = await api("DELETE", `/apps/${app}`);
    if (answer.deleted === true) break;
    assert.ok(i < 60, `the deletion ends: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await page.waitForSelector("#connect:not([hidden])", { timeout: 15_000 });
  assert.match((await page.textContent("#problem")) ?? "", /App “old-shop” has been deleted/);
  assert.equal(await page.isVisible("#figures"), false);
  await page.context().close();
});

test("the token stays in the tab: a reload shows the figures again, a new tab asks for it", async () => {
  const { page } = await newPage();
  await page.goto(`${base}/dashboard`);
  await connect(page, APP, TOKEN);
  await page.waitForSelector("#figures:not([hidden])");
  await page.reload();
  await page.waitForSelector("#figures:not([hidden])");
  assert.equal(await page.isVisible("#connect"), false);
  const stored = await page.evaluate(() => ({
    session: sessionStorage.length,
    local: localStorage.length,
    cookies: document.cookie,
  }));
  assert.deepEqual(stored, { session: 1, local: 0, cookies: "" });

  const other = await page.context().newPage();
  await other.goto(`${base}/dashboard`);
  assert.equal(await other.isVisible("#connect"), true);
  await page.context().close();
});
