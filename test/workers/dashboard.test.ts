// GET /dashboard (docs/operating.md#dashboard): one self-contained page, served without a token,
// whose Content-Security-Policy lets nothing run or load but its own inline script and style
// (by a nonce made for each answer) and requests to its own origin. Every answer here is also
// checked against the OpenAPI document (test/workers/main.ts). The page itself runs in Chromium
// in test/browser/dashboard.test.ts.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api } from "../../worker/app";

const URL = "https://sessions.test/dashboard";

function send(init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(URL, init));
}

/** The CSP directives of an answer, by name. */
function directives(res: Response): Map<string, string> {
  const policy = res.headers.get("Content-Security-Policy") ?? "";
  return new Map(
    policy.split(";").map((d) => {
      const [name = "", ...values] = d.trim().split(/\s+/);
      return [name, values.join(" ")];
    }),
  );
}

describe("GET /dashboard", () => {
  it("answers the page as HTML without a token, never to be cached", async () => {
    const res = await send();
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<input id="token" type="password"');
  });

  it("answers even while no API token is configured (the page holds no data)", async () => {
    const unconfigured = { ...env, SESSIONS_API_TOKEN: "" } as Cloudflare.Env;
    expect((await api.request("/dashboard", {}, unconfigured)).status).toBe(200);
  });

  it("allows only its own inline script and style, by a nonce new in every answer", async () => {
    const [first, second] = await Promise.all([send(), send()]);
    const csp = directives(first);
    const nonce = /^'nonce-([A-Za-z0-9+/]{22}==)'$/.exec(csp.get("script-src") ?? "")?.[1];
    expect(nonce).toBeDefined();
    expect(Object.fromEntries(csp)).toEqual({
      "default-src": "'none'",
      "script-src": `'nonce-${nonce}'`,
      "style-src": `'nonce-${nonce}'`,
      "connect-src": "'self'",
      "img-src": "'self'",
      "base-uri": "'none'",
      "form-action": "'none'",
      "frame-ancestors": "'none'",
    });
    const html = await first.text();
    // One script and one style, both carrying the nonce; nothing else that runs or loads.
    expect(html.match(/<script\b[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(html.match(/<style\b[^>]*>/g)).toEqual([`<style nonce="${nonce}">`]);
    expect(html).not.toMatch(/<(link|img|iframe|object|embed)\b/);
    expect(html).not.toMatch(/\s(src|href|on[a-z]+)=/);
    expect(html).not.toContain("https://");
    // The only request the script makes is to the API of the origin it came from.
    expect(html.match(/fetch\([^,]*/g)).toEqual([
      'fetch("/v1/apps/" + encodeURIComponent(saved.app) + "/metrics"',
    ]);
    // Nor does it keep the token anywhere but sessionStorage.
    expect(html).not.toMatch(/localStorage|document\.cookie|indexedDB/);
    expect(directives(second).get("script-src")).not.toBe(csp.get("script-src"));
  });

  it("has a place for every figure, each with a label", async () => {
    const html = await (await send()).text();
    for (const figure of [
      "live",
      "hour.created",
      "hour.ended",
      "hour.commits",
      "hour.conflicts",
      "hour.refused",
      "sweepLag",
      "outbox.backlog",
      "outbox.oldestAge",
      "shards.missing",
      "move.left",
      "timeAlive.p99",
      "idle.p50",
      "totals.ended.expired",
      "totals.ended.evicted",
    ]) {
      expect(html).toContain(`data-figure="${figure}"`);
    }
    expect(html).toContain('<label for="app">');
    expect(html).toContain('<label for="token">');
    expect(html.match(/role="img" aria-label="[^"]+"/g)?.length).toBeGreaterThanOrEqual(6);
  });

  it("answers HEAD with the headers and no body", async () => {
    const res = await send({ method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Security-Policy")).toMatch(/^default-src 'none'/);
    expect(await res.text()).toBe("");
  });

  it.each(["POST", "PUT", "PATCH", "DELETE"])(
    "answers %s with 405 and Allow: GET, HEAD, without a token",
    async (method) => {
      const res = await send({ method });
      expect(res.status).toBe(405);
      expect(res.headers.get("Allow")).toBe("GET, HEAD");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        "method_not_allowed",
      );
    },
  );
});
