import type { APIRoute } from "astro";

export const GET: APIRoute = async ({ session }) =>
  Response.json({
    user: (await session?.get("user")) ?? null,
    count: (await session?.get("count")) ?? 0,
  });

// The count is stored after the response is made: a write refused because another request
// changed the session meanwhile turns this answer into a 500, so no 200 claims a lost count.
export const POST: APIRoute = async ({ session }) => {
  const count = ((await session?.get("count")) ?? 0) + 1;
  session?.set("count", count);
  return Response.json({ count });
};
