// Users (docs/DESIGN.md#users): "end all" of a user with 100 sessions against ending the same 100
// one by one, the rows a listing and an "end all" read and write per session, and what a sign-in
// adds to a commit. Calls go to the object, timed inside workerd.
import { createHash } from "node:crypto";
import { type BenchWorker, delta } from "./driver.ts";
import { record } from "./figures.ts";
import { T0 } from "./rpc.ts";

/** Sessions of the user that "end all" ends, as the issue asks. */
const PER_USER = 100;
const ROUNDS = 5;
/** Sign-ins and commits timed against each other, interleaved. */
const PAIRS = 200;

/** `userTag(app, user)` of src/core/users.ts. */
function tagOf(app: string, user: string): string {
  return createHash("sha256")
    .update(`edge-sessions user\u0000${app}\u0000${user}`)
    .digest("hex")
    .slice(0, 16);
}

let serial = 0;

export async function benchUsers(worker: BenchWorker): Promise<void> {
  const app = "users";
  const name = await worker.objectOf(app);
  await worker.call(name, "setClock", T0);

  /** Signs `count` new sessions in as `user`; answers their keys. */
  const signInMany = async (user: string, count: number): Promise<string[]> => {
    const binding = { user, tag: tagOf(app, user), labels: { device: "bench" } };
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const key = `${binding.tag}!s${serial++}`;
      const changes = { key: `anon-${serial++}`, sid: null, version: 0, set: { n: i } };
      const out = await worker.call<{ value: { key: string } }>(
        name,
        "signIn",
        app,
        changes,
        key,
        binding,
      );
      keys.push(out.value.value.key);
    }
    return keys;
  };

  const endAllMs: number[] = [];
  const oneByOneMs: number[] = [];
  const speedups: number[] = [];
  const listedRead: number[] = [];
  const listedWritten: number[] = [];
  const endedRead: number[] = [];
  const endedWritten: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A and B alternate which goes first.
    const order = round % 2 === 0 ? ["all", "one"] : ["one", "all"];
    let all = 0;
    let oneByOne = 0;
    for (const which of order) {
      const user = `${which}-${round}`;
      const keys = await signInMany(user, PER_USER);
      const ref = { user, tag: tagOf(app, user) };
      if (which === "all") {
        let before = await worker.usage(name);
        await worker.call(name, "userSessions", app, ref);
        let used = delta(before, await worker.usage(name));
        listedRead.push(used.rowsRead / PER_USER);
        listedWritten.push(used.rowsWritten / PER_USER);
        before = await worker.usage(name);
        const out = await worker.call<{ value: number }>(name, "endUserSessions", app, ref, {
          all: true,
        });
        used = delta(before, await worker.usage(name));
        if (out.value.value !== PER_USER) throw new Error(`end all ended ${out.value.value}`);
        endedRead.push(used.rowsRead / PER_USER);
        endedWritten.push(used.rowsWritten / PER_USER);
        all = out.elapsedMs;
      } else {
        for (const key of keys) {
          const out = await worker.call(name, "invalidate", app, key);
          oneByOne += out.elapsedMs;
        }
      }
    }
    endAllMs.push(all);
    oneByOneMs.push(oneByOne);
    speedups.push(oneByOne / Math.max(all, 0.001));
  }
  record("users_end_all_100_ms", endAllMs);
  record("users_end_100_one_by_one_ms", oneByOneMs);
  record("users_end_all_vs_one_by_one_speedup", speedups);
  record("users_rows_read_per_listed_session", listedRead);
  record("users_rows_written_per_listed_session", listedWritten);
  record("users_rows_read_per_ended_session", endedRead);
  record("users_rows_written_per_ended_session", endedWritten);

  // What a sign-in adds to a commit: a stored session committed with a change, against the same
  // commit made as a sign-in (rotation, binding, handle), interleaved.
  const commitMs: number[] = [];
  const signInMs: number[] = [];
  let commitRows = 0;
  let signInRows = 0;
  const user = "signer";
  const binding = { user, tag: tagOf(app, user), labels: { device: "bench" } };
  for (let i = 0; i < PAIRS; i++) {
    for (const kind of i % 2 === 0 ? ["commit", "signIn"] : ["signIn", "commit"]) {
      const key = `stored-${serial++}`;
      const made = await worker.call<{ value: { sid: string; version: number } }>(
        name,
        "commit",
        app,
        { key, sid: null, version: 0, set: { n: 0 } },
      );
      const { sid, version } = made.value.value;
      const changes = { key, sid, version, set: { n: 1 } };
      const before = await worker.usage(name);
      const out =
        kind === "commit"
          ? await worker.call(name, "commit", app, changes)
          : await worker.call(name, "signIn", app, changes, `${binding.tag}!x${serial++}`, binding);
      const used = delta(before, await worker.usage(name));
      if (kind === "commit") {
        commitMs.push(out.elapsedMs);
        commitRows += used.rowsWritten;
      } else {
        signInMs.push(out.elapsedMs);
        signInRows += used.rowsWritten;
      }
    }
  }
  record("users_rows_written_per_commit", [commitRows / PAIRS]);
  record("users_rows_written_per_sign_in", [signInRows / PAIRS]);
  record(
    "users_sign_in_vs_commit_time_ratio",
    signInMs.map((ms, i) => ms / Math.max(commitMs[i] ?? ms, 0.001)),
  );
}
