import type { APIRoute } from "astro";

export const POST: APIRoute = async ({ session }) => {
  await session?.regenerate();
  session?.set("user", "fred");
  session?.set("count", 0);
  return Response.json({ user: "fred" });
};
