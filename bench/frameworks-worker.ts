// The framework adapters' bench worker (bench/frameworks.ts): the session manager's Durable
// Object, and a route that times reads and read-and-commit requests through the plain client,
// the React Router storage and the unstorage driver, over the Durable Object binding.
import { createCookie } from "react-router";
import { createStorage } from "unstorage";
import { DurableObjectSessionManagerFactory } from "../src/index";
import { createEdgeSessionStorage } from "../src/react-router/index";
import { edgeSessionsDriver } from "../src/unstorage/index";
import type { FrameworkRun } from "./frameworks-run";

export { SessionManagerObject } from "../durable-object/index";

interface Env {
  SESSION_MANAGER: DurableObjectNamespace;
}

const APP = "bench-frameworks";
const cookie = createCookie("__session", { secrets: ["a bench secret of at least 32 chars"] });

/** One worker's session, made once: a request reads it (and commits a change to it). */
type Request1 = (op: FrameworkRun["op"], n: number) => Promise<void>;

async function plain(env: Env, i: number): Promise<Request1> {
  const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, APP);
  const key = `plain-${i}`;
  return async (op, n) => {
    const manager = await factory.open();
    const session = await manager.get(key);
    if (op === "read") return;
    session.set("n", n);
    await manager.connection.commit();
  };
}

async function reactRouter(env: Env): Promise<Request1> {
  const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, APP);
  const storage = createEdgeSessionStorage<{ n: number }>({ factory, cookie });
  const first = await storage.getSession(null);
  first.set("n", 0);
  const header = (await storage.commitSession(first)).split(";")[0] as string;
  return async (op, n) => {
    const session = await storage.getSession(header);
    if (op === "read") return;
    session.set("n", n);
    await storage.commitSession(session);
  };
}

async function unstorage(env: Env, i: number): Promise<Request1> {
  const factory = new DurableObjectSessionManagerFactory(env.SESSION_MANAGER, APP);
  const storage = createStorage({ driver: edgeSessionsDriver({ factory, base: "u" }) });
  const key = `item-${i}`;
  await storage.setItem(key, { n: 0 });
  return async (op, n) => {
    await storage.getItem(key);
    if (op === "read") return;
    await storage.setItem(key, { n });
  };
}

/** Requests per second of `spec`: `concurrency` loops, each on its own session, for `ms`. */
async function timed(env: Env, spec: FrameworkRun): Promise<number> {
  const made = await Promise.all(
    Array.from({ length: spec.concurrency }, (_, i) =>
      spec.kind === "plain"
        ? plain(env, i)
        : spec.kind === "unstorage"
          ? unstorage(env, i)
          : reactRouter(env),
    ),
  );
  let done = 0;
  const start = Date.now();
  await Promise.all(
    made.map(async (request) => {
      while (Date.now() - start < spec.ms) {
        await request(spec.op, done);
        done++;
      }
    }),
  );
  return (done * 1000) / (Date.now() - start);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname !== "/run") return new Response(null, { status: 404 });
    const spec = (await request.json()) as FrameworkRun;
    return Response.json({ perSecond: await timed(env, spec) });
  },
} satisfies ExportedHandler<Env>;
