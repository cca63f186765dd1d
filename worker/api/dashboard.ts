/** The answer of `GET /dashboard`: the page, with the headers that keep it and its token safe. */
import * as v from "valibot";
import type { HeaderDeclaration, ResponseDeclaration } from "./declarations";

const header = (description: string, schema: v.GenericSchema): HeaderDeclaration => ({
  description,
  required: true,
  schema,
});

/** The page, as HTML, and its security headers (`worker/dashboard/headers.ts`). */
export const DASHBOARD_ANSWER: ResponseDeclaration = {
  description:
    "The dashboard: one HTML page with its style and script inline, which asks for the API token and the app's name, keeps the token in the tab's sessionStorage only, and polls GET /v1/apps/{app}/metrics with it.",
  text: {
    mediaType: "text/html",
    description: "The page (UTF-8). It fetches nothing but the API.",
  },
  headers: {
    "Content-Security-Policy": header(
      "Nothing but this page's own script and style (by a nonce made for each answer), and requests to this origin only.",
      v.pipe(v.string(), v.regex(/^default-src 'none'; script-src 'nonce-[A-Za-z0-9+/=]+'/)),
    ),
    "Cache-Control": header("Never stored by a cache.", v.literal("no-store")),
    "X-Content-Type-Options": header("Never sniffed as another type.", v.literal("nosniff")),
    "Referrer-Policy": header("No Referer sent from the page.", v.literal("no-referrer")),
    "X-Frame-Options": header("Never framed by another page.", v.literal("DENY")),
  },
};
