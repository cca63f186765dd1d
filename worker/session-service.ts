import { WorkerEntrypoint } from "cloudflare:workers";
import { parseChangeset, parseChangesets } from "../src/core/changeset";
import type { JsonObject } from "../src/core/json";
import type { AppMetrics } from "../src/core/metrics";
import { assertAppName, assertSessionKey } from "../src/core/names";
import type { CommitResult, SessionView } from "../src/core/session-view";
import { type AppSettings, parseAppSettings } from "../src/core/settings";
import type { EndSelection, UserSessions } from "../src/core/users";
import type { AppDeletion, AppStats, SessionManagerRpc } from "../src/routing/wire";
import { type Result, resultOf } from "../src/routing/wire";
import { sessionRouter } from "./router";

/**
 * The session managers over RPC, for other Workers: bind to this worker with a service binding
 * (`entrypoint = "SessionService"`); the binding is the capability, so no token is needed.
 * Arguments are checked here before any Durable Object is reached. Every method returns a
 * `Result` (typed errors do not survive RPC as exceptions): `unwrap` it.
 *
 * @example
 * // wrangler.toml of the calling Worker:
 * //   [[services]]
 * //   binding = "SESSIONS"
 * //   service = "edge-sessions"
 * //   entrypoint = "SessionService"
 * const session = unwrap(await env.SESSIONS.get("shop", "abc"));
 */
export class SessionService extends WorkerEntrypoint<Cloudflare.Env> implements SessionManagerRpc {
  open(app: string, settings?: Partial<AppSettings>): Promise<Result<AppSettings>> {
    return this.#call(
      () => {
        assertAppName(app);
        return parseAppSettings(settings);
      },
      (given) => sessionRouter(this.env).open(app, given),
    );
  }

  configure(app: string, settings: Partial<AppSettings>): Promise<Result<AppSettings>> {
    return this.#call(
      () => {
        assertAppName(app);
        return parseAppSettings(settings);
      },
      (given) => sessionRouter(this.env).configure(app, given),
    );
  }

  get(app: string, key: string): Promise<Result<SessionView>> {
    return this.#call(
      () => checkNames(app, key),
      () => sessionRouter(this.env).get(app, key),
    );
  }

  getViewJson(app: string, key: string): Promise<Result<string>> {
    return this.#call(
      () => checkNames(app, key),
      () => sessionRouter(this.env).getViewJson(app, key),
    );
  }

  queryViewJson(app: string, key: string): Promise<Result<string | null>> {
    return this.#call(
      () => checkNames(app, key),
      () => sessionRouter(this.env).queryViewJson(app, key),
    );
  }

  query(app: string, key: string): Promise<Result<SessionView | null>> {
    return this.#call(
      () => checkNames(app, key),
      () => sessionRouter(this.env).query(app, key),
    );
  }

  has(app: string, key: string): Promise<Result<boolean>> {
    return this.#call(
      () => checkNames(app, key),
      () => sessionRouter(this.env).has(app, key),
    );
  }

  commit(app: string, changes: unknown): Promise<Result<CommitResult>> {
    return this.#call(
      () => {
        assertAppName(app);
        return parseChangeset((changes as { key?: unknown } | null)?.key as string, changes);
      },
      (parsed) => sessionRouter(this.env).commit(app, parsed),
    );
  }

  commitMany(app: string, changes: unknown[]): Promise<Result<Result<CommitResult>[]>> {
    return this.#call(
      () => {
        assertAppName(app);
        return parseChangesets(changes);
      },
      (parsed) => sessionRouter(this.env).commitMany(app, parsed),
    );
  }

  invalidate(app: string, key: string): Promise<Result<boolean>> {
    return this.#call(
      () => checkNames(app, key),
      () => sessionRouter(this.env).invalidate(app, key),
    );
  }

  regenerate(app: string, oldKey: string, newKey: string): Promise<Result<SessionView>> {
    return this.#call(
      () => {
        checkNames(app, oldKey);
        assertSessionKey(newKey);
      },
      () => sessionRouter(this.env).regenerate(app, oldKey, newKey),
    );
  }

  /** Signs a session in as a user (docs/DESIGN.md#users); the router checks the rest. */
  signIn(
    app: string,
    changes: unknown,
    user: string,
    labels?: JsonObject,
  ): Promise<Result<SessionView>> {
    return this.#call(
      () => assertAppName(app),
      () => sessionRouter(this.env).signIn(app, changes, user, labels),
    );
  }

  userSessions(app: string, user: string, own?: string): Promise<Result<UserSessions>> {
    return this.#call(
      () => assertAppName(app),
      () => sessionRouter(this.env).userSessions(app, user, own),
    );
  }

  endUserSessions(app: string, user: string, which: EndSelection): Promise<Result<number>> {
    return this.#call(
      () => assertAppName(app),
      () => sessionRouter(this.env).endUserSessions(app, user, which),
    );
  }

  stats(app: string): Promise<Result<AppStats>> {
    return this.#call(
      () => assertAppName(app),
      () => sessionRouter(this.env).stats(app),
    );
  }

  /** Deletes the app (docs/DESIGN.md#deleting-an-app); call again to follow it. */
  deleteApp(app: string): Promise<Result<AppDeletion>> {
    return this.#call(
      () => assertAppName(app),
      () => sessionRouter(this.env).deleteApp(app),
    );
  }

  metrics(app: string): Promise<Result<AppMetrics>> {
    return this.#call(
      () => assertAppName(app),
      () => sessionRouter(this.env).metrics(app),
    );
  }

  /** Checks the arguments (a refusal is an error `Result`), then makes the call. */
  async #call<A, T>(check: () => A, call: (checked: A) => Promise<Result<T>>): Promise<Result<T>> {
    const checked = resultOf(check);
    if (!checked.ok) return checked;
    return call(checked.value);
  }
}

function checkNames(app: string, key: string): void {
  assertAppName(app);
  assertSessionKey(key);
}
