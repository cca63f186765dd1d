import type { Context } from "hono";

/** Drops the response of a run that will not be sent. */
export function discard(ctx: Context): void {
  if (ctx.finalized) cancelBody(ctx.res);
}

function cancelBody(response: Response): void {
  // A body already read or locked cannot be cancelled; it is dropped all the same.
  response.body?.cancel().catch(() => {});
}

/**
 * Makes `response` the answer of `c` instead of the handler's, with the headers that middleware
 * before this one had set (as Hono merges them into a handler's response).
 */
export function replaceResponse(c: Context, response: Response, upstream: Headers): void {
  if (c.finalized && c.res !== response) cancelBody(c.res);
  const answer = new Response(response.body, response);
  for (const [key, value] of upstream) {
    if (key === "content-type" || key === "set-cookie") continue;
    answer.headers.set(key, value);
  }
  for (const cookie of upstream.getSetCookie()) answer.headers.append("set-cookie", cookie);
  c.res = undefined;
  c.res = answer;
}
