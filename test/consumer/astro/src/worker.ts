import { handle } from "@astrojs/cloudflare/handler";
import { requestScope } from "./session-driver";

// Each request runs in its own scope, from the start to after Astro has stored the session (it
// does so once the response is made, after the middleware): the driver checks each write against
// the same request's read.
export default {
  fetch: (request, env, ctx) => requestScope.run({}, () => handle(request, env, ctx)),
} satisfies ExportedHandler<Env>;
