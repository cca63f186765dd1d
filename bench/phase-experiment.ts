// Scratch: the old method's two phases, loop by loop.
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallSpec } from "./calls.ts";
import { BenchWorker } from "./driver.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const w = await BenchWorker.start(root, randomBytes(8).toString("hex"));
const T0 = 4_000_000_000;
const rate = async (spec: CallSpec & { n: number }) => {
  const r = await w.loop(spec);
  return (r.ops / Math.max(1, r.elapsedMs)) * 1000;
};
const out: Record<string, unknown> = {};
try {
  for (const app of ["rpc", "diag"]) {
    const name = await w.objectOf(app);
    await w.call(name, "setClock", T0);
    const ck = Array.from({ length: 32 }, (_, i) => `c${i}`);
    await w.call(name, "seed", app, { keys: ["k", "one", ...ck] }, { n: 0 });
    const c32 = { app, concurrency: 32 };
    const n = 10_000;
    const measures: Record<string, () => Promise<number>> =
      app === "rpc"
        ? {
            noop: () => rate({ ...c32, op: "ping", keys: ["k"], n }),
            get: () => rate({ ...c32, op: "get", keys: ["k"], n }),
            commit: () => rate({ ...c32, op: "commit", keys: ck, n: n / 4 }),
            write: () => rate({ ...c32, op: "probe", probe: "sql-write", keys: ["k"], n: n / 4 }),
          }
        : {
            noop: () => rate({ ...c32, op: "ping", keys: ["k"], n }),
            get: () => rate({ ...c32, op: "get", keys: ["k"], n }),
            ping_c1: () => rate({ app, concurrency: 1, op: "ping", keys: ["k"], n: n / 10 }),
            commit_c1: () => rate({ app, concurrency: 1, op: "commit", keys: ["one"], n: n / 10 }),
            none: () => rate({ ...c32, op: "probe", probe: "none", keys: ["k"], n }),
            result: () => rate({ ...c32, op: "probe", probe: "result", keys: ["k"], n }),
            sql: () => rate({ ...c32, op: "probe", probe: "sql", keys: ["k"], n }),
            write: () => rate({ ...c32, op: "probe", probe: "sql-write", keys: ["k"], n }),
          };
    for (const m of Object.values(measures)) await m();
    const names = Object.keys(measures);
    const seq: [string, number][] = [];
    for (let r = 0; r < 5; r++) {
      for (let i = 0; i < names.length; i++) {
        const label = names[(i + r) % names.length] as string;
        seq.push([label, Math.round(await (measures[label] as () => Promise<number>)())]);
      }
    }
    out[app] = seq;
    console.error(app, JSON.stringify(seq));
  }
  console.log(JSON.stringify(out));
} finally {
  await w.dispose();
}
process.exit();
