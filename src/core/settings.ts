import { InvalidInputError } from "./errors.js";

/** An app's session settings. */
export interface SessionSettings {
  /** Seconds of inactivity after which a session expires. Default 1200. */
  timeout: number;
  /** Length of a timeslice in seconds: the write granularity of access times. Default 20. */
  period: number;
  /** Largest serialized session data in bytes. Default 128 KiB, at most 1 MiB. */
  maxSessionBytes: number;
  /**
   * The most live sessions one user may have (docs/DESIGN.md#users): a sign-in past it ends the
   * least recently active (reason `evicted`). 0 (the default) sets no limit.
   */
  maxSessionsPerUser: number;
}

/** repoze.session's defaults, and a 128 KiB session size limit. */
export const DEFAULT_SETTINGS: Readonly<SessionSettings> = Object.freeze({
  timeout: 1200,
  period: 20,
  maxSessionBytes: 128 * 1024,
  maxSessionsPerUser: 0,
});

/** The highest `maxSessionsPerUser`. */
export const MAX_SESSIONS_PER_USER_LIMIT = 1000;

/** The longest `timeout`: one year. */
export const MAX_TIMEOUT = 365 * 24 * 3600;

/** The largest `maxSessionBytes` an app may have (production Durable Object values hold 2 MB). */
export const MAX_SESSION_BYTES_LIMIT = 1024 * 1024;

/** Fills in defaults and validates; throws `InvalidInputError` naming the bad setting. */
export function resolveSettings(given: Partial<SessionSettings> = {}): SessionSettings {
  const settings: SessionSettings = {
    timeout: given.timeout ?? DEFAULT_SETTINGS.timeout,
    period: given.period ?? DEFAULT_SETTINGS.period,
    maxSessionBytes: given.maxSessionBytes ?? DEFAULT_SETTINGS.maxSessionBytes,
    maxSessionsPerUser: given.maxSessionsPerUser ?? DEFAULT_SETTINGS.maxSessionsPerUser,
  };
  positive("timeout", settings.timeout);
  positive("period", settings.period);
  if (settings.timeout > MAX_TIMEOUT) {
    throw new InvalidInputError(
      `Setting timeout must be at most ${MAX_TIMEOUT} seconds (one year), got ${settings.timeout}.`,
      "invalid_settings",
    );
  }
  if (settings.period > settings.timeout) {
    throw new InvalidInputError(
      `Setting period (${settings.period}) must not exceed timeout (${settings.timeout}): a period is a slice of the timeout.`,
      "invalid_settings",
    );
  }
  if (
    !Number.isInteger(settings.maxSessionBytes) ||
    settings.maxSessionBytes < 1 ||
    settings.maxSessionBytes > MAX_SESSION_BYTES_LIMIT
  ) {
    throw new InvalidInputError(
      `Setting maxSessionBytes must be an integer from 1 to ${MAX_SESSION_BYTES_LIMIT}, got ${JSON.stringify(settings.maxSessionBytes)}.`,
      "invalid_settings",
    );
  }
  if (
    !Number.isInteger(settings.maxSessionsPerUser) ||
    settings.maxSessionsPerUser < 0 ||
    settings.maxSessionsPerUser > MAX_SESSIONS_PER_USER_LIMIT
  ) {
    throw new InvalidInputError(
      `Setting maxSessionsPerUser must be an integer from 0 (no limit) to ${MAX_SESSIONS_PER_USER_LIMIT}, got ${JSON.stringify(settings.maxSessionsPerUser)}.`,
      "invalid_settings",
    );
  }
  return settings;
}

function positive(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidInputError(
      `Setting ${name} must be a number of seconds greater than 0, got ${JSON.stringify(value)}.`,
      "invalid_settings",
    );
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** An app's settings as stored with it: the session settings plus delivery and placement. */
export interface AppSettings extends SessionSettings {
  /** Send begin events to the Queue too (end events always go). Default false. */
  beginEvents: boolean;
  /**
   * How many Durable Objects the app's sessions spread over, by a stable hash of the key.
   * Default 1, at most `MAX_SHARDS`. Reconfiguring it moves the sessions in the background while
   * they stay reachable (docs/DESIGN.md#resharding); until the move ends, the app's layout says where
   * keys are routed.
   */
  shards: number;
}

/** The most shards an app may have. */
export const MAX_SHARDS = 256;

/** Defaults of every app setting. */
export const DEFAULT_APP_SETTINGS: Readonly<AppSettings> = Object.freeze({
  ...DEFAULT_SETTINGS,
  beginEvents: false,
  shards: 1,
});

const APP_SETTING_NAMES = new Set(Object.keys(DEFAULT_APP_SETTINGS));

/**
 * Validates settings that came from outside (HTTP body, RPC argument): known names only, each of
 * its type. Returns the ones given; throws `InvalidInputError` naming the bad setting.
 */
export function parseAppSettings(input: unknown): Partial<AppSettings> {
  if (input === undefined) return {};
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new InvalidInputError(
      "App settings must be a JSON object like { timeout, period, maxSessionBytes, maxSessionsPerUser, beginEvents, shards }.",
      "invalid_settings",
    );
  }
  const given = withoutUndefined(input as Record<string, unknown>);
  for (const name of Object.keys(given)) {
    if (!APP_SETTING_NAMES.has(name)) {
      throw new InvalidInputError(
        `Unknown app setting "${name}": use ${[...APP_SETTING_NAMES].join(", ")}.`,
        "invalid_settings",
      );
    }
  }
  if (given.beginEvents !== undefined && typeof given.beginEvents !== "boolean") {
    throw new InvalidInputError("Setting beginEvents must be true or false.", "invalid_settings");
  }
  if (
    given.shards !== undefined &&
    (!Number.isInteger(given.shards) ||
      (given.shards as number) < 1 ||
      (given.shards as number) > MAX_SHARDS)
  ) {
    throw new InvalidInputError(
      `Setting shards must be an integer from 1 to ${MAX_SHARDS}, got ${JSON.stringify(given.shards)}.`,
      "invalid_settings",
    );
  }
  resolveSettings(given as Partial<SessionSettings>);
  return given as Partial<AppSettings>;
}

/** Fills in the defaults of every app setting; validates. */
export function resolveAppSettings(given: Partial<AppSettings> = {}): AppSettings {
  const settings = resolveSettings(given);
  return {
    ...settings,
    beginEvents: given.beginEvents ?? DEFAULT_APP_SETTINGS.beginEvents,
    shards: given.shards ?? DEFAULT_APP_SETTINGS.shards,
  };
}

/** The first setting whose stored value differs from the given one, if any. */
export function differingSetting(
  stored: AppSettings,
  given: Partial<AppSettings>,
): keyof AppSettings | undefined {
  return (Object.keys(given) as (keyof AppSettings)[]).find(
    (name) => given[name] !== undefined && given[name] !== stored[name],
  );
}
