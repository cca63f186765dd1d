/**
 * Serving the dashboard: the page with a fresh nonce, and the headers that allow nothing but its
 * own inline script and style and requests to the worker's origin.
 */
import { dashboardPage } from "./page";

/**
 * The Content-Security-Policy of the page: its inline script and style run only with `nonce`
 * (no other script, style, font, image, frame or plugin); it may fetch from its own origin
 * only (the API); it may not be framed, send a form anywhere or change its base URL.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The page's answer. The page holds no data, so it needs no token; the token the user types is
 * kept in the tab's sessionStorage and sent only to this origin's API. `no-store`: nothing of
 * the page or the API's answers stays in a cache.
 *
 * @example
 * api.get("/dashboard", () => dashboardResponse());
 */
export function dashboardResponse(): Response {
  const nonce = newNonce();
  return new Response(dashboardPage(nonce), {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": contentSecurityPolicy(nonce),
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Resource-Policy": "same-origin",
    },
  });
}

/** 128 random bits, base64: a nonce no one can guess (CSP Level 3 asks for at least 128). */
function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
