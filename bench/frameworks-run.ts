// What the framework adapters' bench (bench/frameworks.ts) asks its worker to time: shared by the
// runner (Node) and the worker (bench/frameworks-worker.ts).

/** One timed run: `kind` the way in, `op` a read, or a read then a commit. */
export interface FrameworkRun {
  kind: "plain" | "react-router" | "unstorage";
  op: "read" | "commit";
  /** Requests in flight at once, each on a session of its own. */
  concurrency: number;
  /** Milliseconds to run. */
  ms: number;
}
