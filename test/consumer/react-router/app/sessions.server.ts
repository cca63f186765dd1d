import { env } from "cloudflare:workers";
import { ServiceSessionManagerFactory } from "edge-sessions";
import { createEdgeSessionStorage } from "edge-sessions/react-router";
import { createCookie } from "react-router";

export const { getSession, commitSession, destroySession } = createEdgeSessionStorage<{
  user: string;
  count: number;
}>({
  factory: () => new ServiceSessionManagerFactory(env.SESSIONS, "consumer-rr"),
  cookie: createCookie("__session", {
    secrets: [env.SESSION_SECRET],
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    maxAge: 3600,
  }),
});
