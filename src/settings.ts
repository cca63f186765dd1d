import { InvalidInputError } from "./errors";

/** An app's session settings. */
export interface SessionSettings {
  /** Seconds of inactivity after which a session expires. Default 1200. */
  timeout: number;
  /** Length of a timeslice in seconds: the write granularity of access times. Default 20. */
  period: number;
  /** Largest serialized session data in bytes. Default 128 KiB, at most 1 MiB. */
  maxSessionBytes: number;
}

/** repoze.session's defaults, and a 128 KiB session size limit. */
export const DEFAULT_SETTINGS: Readonly<SessionSettings> = Object.freeze({
  timeout: 1200,
  period: 20,
  maxSessionBytes: 128 * 1024,
});

/** The largest `maxSessionBytes` an app may have (production Durable Object values hold 2 MB). */
export const MAX_SESSION_BYTES_LIMIT = 1024 * 1024;

/** Fills in defaults and validates; throws `InvalidInputError` naming the bad setting. */
export function resolveSettings(given: Partial<SessionSettings> = {}): SessionSettings {
  const settings = { ...DEFAULT_SETTINGS, ...withoutUndefined(given) };
  positive("timeout", settings.timeout);
  positive("period", settings.period);
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
