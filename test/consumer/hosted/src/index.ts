// A user's Worker that hosts SessionManagerObject itself (a Durable Object binding and a migration
// in wrangler.toml). GET / counts visits in the visitor's session; POST /logout ends it; GET /ended
// lists the sessions this object saw end, through the onSessionEnd hook.
import {
  DurableObjectSessionManagerFactory,
  objectName,
  type SessionEndEvent,
} from "edge-sessions";
import { SessionManagerObject } from "edge-sessions/durable-object";
import { type SessionEnv, sessions } from "edge-sessions/hono";
import { Hono } from "hono";

const APP = "hosted";

/** The session manager of this Worker's apps, with an end hook. */
export class Sessions extends SessionManagerObject {
  readonly #ended: string[] = [];

  protected override onSessionEnd(event: SessionEndEvent): void {
    this.#ended.push(`${event.key}:${event.reason}`);
  }

  /** The sessions that ended in this object since it started (RPC). */
  ended(): string[] {
    return [...this.#ended];
  }
}

/** The Worker's bindings (wrangler.toml). `wrangler types` generates the same as `Env`. */
interface Bindings {
  SESSION_MANAGER: DurableObjectNamespace<Sessions>;
  SESSION_SECRET: string;
}

type Data = { visits: number };

const app = new Hono<{ Bindings: Bindings } & SessionEnv<Data>>();

app.use(
  sessions<Data>({
    factory: (c) => new DurableObjectSessionManagerFactory(c.env.SESSION_MANAGER, APP),
    secret: (c) => c.env.SESSION_SECRET,
  }),
);

app.get("/", async (c) => {
  const session = c.get("session");
  const visits = ((await session.get("visits")) ?? 0) + 1;
  await session.set("visits", visits);
  return c.json({ visits });
});

app.post("/logout", async (c) => {
  await c.get("session").destroy();
  return c.body(null, 204);
});

app.get("/ended", async (c) =>
  c.json(await c.env.SESSION_MANAGER.getByName(objectName(APP)).ended()),
);

export default app;
