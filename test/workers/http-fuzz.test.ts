/**
 * Fuzz test of the HTTP API: random methods, paths, app names, keys, headers and bodies (random
 * JSON, invalid UTF-8, huge and deeply nested documents, wrong content types). Whatever arrives:
 * never a 500, every error in the `{ error: { code, message } }` shape, and a refused request
 * writes nothing: not a row in the object of the app most requests aim at (where a sentinel
 * session keeps its version and data), and no other app that only refused requests named is
 * stored at all.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { APP_NAME_PATTERN } from "../../src/core/names";
import { testClock } from "./clock";
import { manager, T0 } from "./helpers";

const APP = "fuzz";
const KEY = "sentinel";
const TOKEN = "test-token";

const methods = fc.constantFrom(
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "PROPFIND",
);
const appNames = fc.oneof(
  fc.constant(APP),
  fc.constantFrom("", "Shop", "a b", "-x", "x".repeat(65), "%2e%2e", "ü", "a/b", "shop%00"),
  fc.constant("other-app"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const keys = fc.oneof(
  fc.constant(KEY),
  fc.constantFrom("", "..", ".", "a%2Fb", "k".repeat(257), "%F0%9F%98%80", "%ZZ", "a b"),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const paths = fc.oneof(
  // Valid paths often, so that accepted requests (which change the sentinel) are common too.
  { weight: 3, arbitrary: fc.constant(`/v1/apps/${APP}/sessions/${KEY}`) },
  fc.tuple(appNames, keys).map(([a, k]) => `/v1/apps/${a}/sessions/${k}`),
  fc.tuple(appNames, keys).map(([a, k]) => `/v1/apps/${a}/sessions/${k}/regenerate`),
  appNames.map((a) => `/v1/apps/${a}`),
  fc.constantFrom(
    "/",
    "/v1",
    "/v1/apps",
    "/v2/apps/fuzz",
    "/healthz",
    "/v1/apps/fuzz/sessions",
    "//v1",
  ),
  fc.webPath(),
);

function nested(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x76, 0x22, 0x3a, 0xff, 0xfe, 0x7d]);
const changesets = fc.record(
  {
    version: fc.oneof(fc.constant(1), fc.integer({ min: -2, max: 5 }), fc.double(), fc.string()),
    sid: fc.oneof(fc.constant(null), fc.string({ maxLength: 70 })),
    set: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
      fc.jsonValue(),
    ),
    delete: fc.oneof(fc.array(fc.string({ maxLength: 8 })), fc.jsonValue()),
    clear: fc.oneof(fc.boolean(), fc.jsonValue()),
    invalidate: fc.oneof(fc.boolean(), fc.jsonValue()),
    lastModified: fc.oneof(fc.double(), fc.constant(null), fc.string()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const bodies: fc.Arbitrary<BodyInit | undefined> = fc.oneof(
  fc.constant(undefined),
  changesets.map((c) => JSON.stringify(c)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant(invalidUtf8),
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(nested(5000), `{"version":1,"set":{"a":${nested(200)}}}`, `{"newKey":"x"}`),
  fc
    .integer({ min: 100_000, max: 1_300_000 })
    .map((n) => JSON.stringify({ version: 1, set: { big: "x".repeat(n) } })),
);
const contentTypes = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
);
const authorizations = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      "Bearer",
      "Bearer wrong",
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      "",
    ),
  },
);

interface Sentinel {
  version: number;
  data: unknown;
}

async function sentinel(): Promise<Sentinel | null> {
  const res = await exports.default.fetch(`https://fuzz.test/v1/apps/${APP}/sessions/${KEY}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (res.status === 404) return null;
  const body = (await res.json()) as Sentinel;
  return { version: body.version, data: body.data };
}

/** The app a path names, when it is a valid app name (so an object could be reached). */
function appOf(path: string): string | undefined {
  const segment = /^\/v1\/apps\/([^/?#]+)/.exec(path)?.[1];
  if (segment === undefined) return undefined;
  try {
    const app = decodeURIComponent(segment);
    return APP_NAME_PATTERN.test(app) ? app : undefined;
  } catch {
    return undefined;
  }
}

/** Rows the fuzzed app's object has written so far (settings, sessions, outbox: any row). */
async function rowsWritten(): Promise<number> {
  return (await manager(APP, env.SESSION_MANAGER).usage()).rowsWritten;
}

beforeAll(async () => {
  testClock.now = T0;
  const res = await exports.default.fetch(`https://fuzz.test/v1/apps/${APP}/sessions/${KEY}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ version: 0, set: { guarded: true, list: [1, 2, 3] } }),
  });
  expect(res.status).toBe(200);
});

describe("the HTTP API under random input", () => {
  it("never answers 500, always answers errors as { error: { code, message } }, and a refused request writes nothing", async () => {
    const statuses = new Map<number, number>();
    let acceptedWrites = 0;
    /** Other valid app names, by whether some request naming them was accepted. */
    const otherApps = new Map<string, boolean>();
    await fc.assert(
      fc.asyncProperty(
        methods,
        paths,
        bodies,
        contentTypes,
        authorizations,
        async (method, path, body, contentType, authorization) => {
          const before = await sentinel();
          const rowsBefore = await rowsWritten();
          const app = appOf(path);
          const headers: Record<string, string> = {};
          if (contentType !== undefined) headers["content-type"] = contentType;
          if (authorization !== undefined) headers.authorization = authorization;
          const withBody = method !== "GET" && method !== "HEAD";
          // Every generated request is one the Fetch API builds: any error here fails the test.
          const res = await exports.default.fetch(`https://fuzz.test${path}`, {
            method,
            headers,
            body: withBody ? body : undefined,
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, `${method} ${path}`).toBeLessThan(500);
          if (res.status >= 400) {
            if (method !== "HEAD") {
              const answer = (await res.json()) as {
                error?: { code?: unknown; message?: unknown };
              };
              expect(typeof answer.error?.code).toBe("string");
              expect(typeof answer.error?.message).toBe("string");
            }
            expect(await sentinel()).toEqual(before);
            expect(await rowsWritten(), `${method} ${path} ${res.status}`).toBe(rowsBefore);
            if (app !== undefined && app !== APP) otherApps.set(app, otherApps.get(app) ?? false);
          } else {
            await res.arrayBuffer();
            if ((await rowsWritten()) !== rowsBefore) acceptedWrites++;
            if (app !== undefined && app !== APP) otherApps.set(app, true);
          }
        },
      ),
      { numRuns: 400 },
    );
    // The generators reach both sides of the API, or the property says little.
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    const accepted = [...statuses].filter(([s]) => s < 400).reduce((n, [, c]) => n + c, 0);
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(10);
    // And the row count sees writes: accepted requests moved it.
    expect(acceptedWrites).toBeGreaterThan(0);
    // An app that only refused requests named was never stored: no settings, no session.
    const refusedOnly = [...otherApps].filter(([, accepted]) => !accepted).map(([app]) => app);
    for (const app of refusedOnly) {
      const stats = await manager(app, env.SESSION_MANAGER).stats(app);
      expect(stats.ok ? "stored" : stats.error.code, app).toBe("app_not_found");
    }
    // 400 runs, each answer also checked against the OpenAPI document (test/workers/main.ts).
  }, 30_000);
});
