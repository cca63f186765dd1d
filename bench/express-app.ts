// The comparison: the same session read with express-session + connect-redis + a real Redis,
// as a Node app is usually written. Run by bench/run.ts as its own process; prints
// `listening <port>` once it serves on 127.0.0.1.
// Usage: node bench/express-app.ts <redisPort>
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

declare module "express-session" {
  interface SessionData {
    counter: number;
  }
}

const redisPort = Number(process.argv[2]);
if (!Number.isInteger(redisPort) || redisPort <= 0) {
  console.error("usage: node bench/express-app.ts <redisPort>");
  process.exit(2);
}

const client = createClient({ socket: { host: "127.0.0.1", port: redisPort } });
client.on("error", (error) => console.error("redis:", error));
await client.connect();

const app = express();
// express-session's defaults, with the two options it asks to be set explicitly set to the
// recommended values: no save of unmodified sessions, no store of empty ones. connect-redis
// touches the session's TTL on every request (its default), as deployed apps do.
app.use(
  session({
    store: new RedisStore({ client, prefix: "bench:" }),
    secret: "bench-secret",
    resave: false,
    saveUninitialized: false,
  }),
);

/** The read: the session's counter. */
app.get("/", (req, res) => {
  res.json({ counter: req.session.counter ?? null });
});

/** Starts a session at 0; its Set-Cookie is the cookie the load uses. */
app.get("/reset", (req, res) => {
  req.session.counter = 0;
  res.json({ counter: 0 });
});

/** Read-modify-write as express-session does it: load, increment, save at the end. */
app.get("/incr", (req, res) => {
  req.session.counter = (req.session.counter ?? 0) + 1;
  res.json({ counter: req.session.counter });
});

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening ${address.port}`);
});

function stop(): void {
  server.close();
  server.closeAllConnections();
  void client.quit().finally(() => process.exit(0));
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Stop with the parent: its pipe to our stdin closes when it exits, even when it is killed.
process.stdin.on("end", stop);
process.stdin.resume();
