import type { APIRoute } from "astro";

export const POST: APIRoute = async ({ session }) => {
  session?.destroy();
  return new Response(null, { status: 204 });
};
