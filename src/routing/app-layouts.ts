import { SessionError } from "../core/errors.js";
import type { AppSettings } from "../core/settings.js";
import { type AppLayout, type Layout, parseLayout } from "./layout.js";
import { type ErrorBody, errorBody, type Result, unwrap } from "./wire.js";

/** An app's settings and layout as this isolate knows them, and the objects it introduced them to. */
export interface KnownApp {
  settings: AppSettings;
  layout: Layout;
  adopted: Set<string>;
}

/**
 * The settings and layout of each app an isolate routes, learned from the app's home object
 * (`ask`: its `layout` call) once and kept from then on; a redirection updates them
 * (docs/DESIGN.md#resharding). A refusal of the home object (say, a bad app name) comes back as
 * an error result.
 */
export class AppLayouts {
  readonly #ask: (app: string) => Promise<Result<AppLayout>>;
  readonly #apps = new Map<string, KnownApp>();
  readonly #loading = new Map<string, Promise<KnownApp>>();

  constructor(ask: (app: string) => Promise<Result<AppLayout>>) {
    this.#ask = ask;
  }

  /** The app as this isolate knows it already, or `undefined`; asks nobody. */
  cached(app: string): KnownApp | undefined {
    return this.#apps.get(app);
  }

  /**
   * The app's settings and layout: from this isolate's memory, or once from its home object. An
   * app not stored yet runs on the defaults (one object) and is asked again next time, since it
   * may be created with other settings meanwhile; asking stores nothing, so a refused call writes
   * nothing.
   */
  known(app: string): Promise<Result<KnownApp>> {
    return settled(this.#known(app));
  }

  /** Asks the home object for the app's settings and layout again, and caches them. */
  refresh(app: string): Promise<Result<KnownApp>> {
    return settled(this.#load(app));
  }

  /**
   * Forgets the app (it is being deleted, or was): the next call asks its home object again,
   * since the name may come back as a new app with other settings.
   */
  forget(app: string): void {
    this.#apps.delete(app);
  }

  /** Takes the layout a redirection carries, or asks the home object when it is not newer. */
  async follow(app: string, known: KnownApp, moved: ErrorBody): Promise<Result<unknown>> {
    const next = moved.layout === undefined ? undefined : parseLayout(moved.layout);
    if (next !== undefined && next.epoch > known.layout.epoch) {
      known.layout = next;
      return { ok: true, value: undefined };
    }
    // The object knows no newer layout than ours: ours is stale in another way; ask home.
    let answer: AppLayout;
    try {
      answer = unwrap(await this.#ask(app));
    } catch (error) {
      if (error instanceof SessionError) return { ok: false, error: errorBody(error) };
      throw error;
    }
    if (answer.stored === false || answer.layout.epoch < known.layout.epoch) {
      // Layouts only grow, but for an app deleted since (and maybe made again): what this
      // isolate knows is of its former life. The home object's answer replaces it whole, and
      // every object is introduced to the app again (docs/DESIGN.md#deleting-an-app).
      this.#apps.delete(app);
      known.settings = answer.settings;
      known.layout = answer.layout;
      known.adopted = new Set();
      if (answer.stored !== false) this.#apps.set(app, known);
      return { ok: true, value: undefined };
    }
    const learned = this.#learn(app, answer);
    if (learned !== known) {
      known.settings = learned.settings;
      if (learned.layout.epoch >= known.layout.epoch) known.layout = learned.layout;
    }
    return { ok: true, value: undefined };
  }

  async #known(app: string): Promise<KnownApp> {
    const known = this.#apps.get(app);
    if (known !== undefined) return known;
    let loading = this.#loading.get(app);
    if (loading === undefined) {
      loading = this.#load(app).finally(() => this.#loading.delete(app));
      this.#loading.set(app, loading);
    }
    return loading;
  }

  async #load(app: string): Promise<KnownApp> {
    const answer = unwrap(await this.#ask(app));
    // Not stored yet: route on the defaults this once, and cache nothing.
    if (answer.stored === false) {
      return { settings: answer.settings, layout: answer.layout, adopted: new Set<string>() };
    }
    return this.#learn(app, answer);
  }

  #learn(app: string, { settings, layout }: AppLayout): KnownApp {
    const known = this.#apps.get(app) ?? { settings, layout, adopted: new Set<string>() };
    known.settings = settings;
    if (layout.epoch >= known.layout.epoch) known.layout = layout;
    this.#apps.set(app, known);
    return known;
  }
}

/** The app once `loading` settles, a `SessionError` it fails with as an error result. */
async function settled(loading: Promise<KnownApp>): Promise<Result<KnownApp>> {
  try {
    return { ok: true, value: await loading };
  } catch (error) {
    if (error instanceof SessionError) return { ok: false, error: errorBody(error) };
    throw error;
  }
}
