/**
 * The values of the app routes: the settings a body may give, the settings as stored, and the
 * app's stats.
 */
import * as v from "valibot";
import {
  MAX_SESSION_BYTES_LIMIT,
  MAX_SESSIONS_PER_USER_LIMIT,
  MAX_SHARDS,
  MAX_TIMEOUT,
} from "../../src/core/settings";
import { isUnknownKey } from "./sessions";

const SETTINGS_SHAPE = "timeout, period, maxSessionBytes, maxSessionsPerUser, beginEvents, shards";

/** A number of seconds above 0, refused with a message that names the setting. */
function secondsSetting(name: string) {
  const message = (issue: { input: unknown }) =>
    settingMessage(name, "a number of seconds greater than 0", issue.input);
  return v.pipe(v.number(message), v.finite(message), v.gtValue(0, message));
}

function settingMessage(name: string, what: string, got: unknown): string {
  return `Setting ${name} must be ${what}, got ${JSON.stringify(got) ?? String(got)}.`;
}

/** The app settings a `POST` or `PUT` body may give (each optional). */
export const AppSettingsInputSchema = v.pipe(
  v.strictObject(
    {
      timeout: v.optional(
        v.pipe(
          secondsSetting("timeout"),
          v.maxValue(
            MAX_TIMEOUT,
            (issue) =>
              `Setting timeout must be at most ${MAX_TIMEOUT} seconds (one year), got ${issue.input}.`,
          ),
          v.description("Seconds of inactivity after which a session expires. Default 1200."),
        ),
      ),
      period: v.optional(
        v.pipe(
          secondsSetting("period"),
          v.description(
            "Length of a timeslice in seconds: the write granularity of access times; at most timeout. Default 20.",
          ),
        ),
      ),
      maxSessionBytes: v.optional(
        v.pipe(
          integerSetting("maxSessionBytes", MAX_SESSION_BYTES_LIMIT),
          v.description("Largest serialized session data in bytes. Default 131072."),
        ),
      ),
      maxSessionsPerUser: v.optional(
        v.pipe(
          integerSetting("maxSessionsPerUser", MAX_SESSIONS_PER_USER_LIMIT, 0),
          v.description(
            "The most live sessions one user may have: a sign-in past it ends the user's least recently active session (end event `evicted`). 0 (the default): no limit.",
          ),
        ),
      ),
      beginEvents: v.optional(
        v.pipe(
          v.boolean("Setting beginEvents must be true or false."),
          v.description(
            "Send begin events to the Queue too (end events always go). Default false.",
          ),
        ),
      ),
      shards: v.optional(
        v.pipe(
          integerSetting("shards", MAX_SHARDS),
          v.description(
            "Durable Objects the sessions spread over; a new count moves the sessions in the background. Default 1.",
          ),
        ),
      ),
    },
    (issue) =>
      isUnknownKey(issue)
        ? `Unknown app setting ${JSON.stringify(issue.input)}: use ${SETTINGS_SHAPE}.`
        : `App settings must be a JSON object like { ${SETTINGS_SHAPE} }.`,
  ),
  v.title("AppSettingsInput"),
);

/** An integer setting from `min` (default 1) to `max`, refused with a message that names it. */
function integerSetting(name: string, max: number, min = 1) {
  const message = (issue: { input: unknown }) =>
    settingMessage(
      name,
      `an integer from ${min}${min === 0 ? " (no limit)" : ""} to ${max}`,
      issue.input,
    );
  return v.pipe(
    v.number(message),
    v.integer(message),
    v.minValue(min, message),
    v.maxValue(max, message),
  );
}

/** An app's settings as stored with it. */
export const AppSettingsSchema = v.pipe(
  v.strictObject({
    timeout: v.number(),
    period: v.number(),
    maxSessionBytes: v.pipe(v.number(), v.integer()),
    maxSessionsPerUser: v.pipe(
      v.number(),
      v.integer(),
      v.description("The most live sessions one user may have; 0: no limit."),
    ),
    beginEvents: v.boolean(),
    shards: v.pipe(v.number(), v.integer()),
  }),
  v.title("AppSettings"),
);

/** The answer of `POST` and `PUT /v1/apps/{app}`. */
export const AppWithSettingsSchema = v.pipe(
  v.strictObject({ app: v.string(), settings: AppSettingsSchema }),
  v.title("AppWithSettings"),
);

/** An app's settings and stats, added up over its shards. */
export const AppStatsSchema = v.pipe(
  v.strictObject({
    app: v.string(),
    settings: AppSettingsSchema,
    sessions: v.pipe(v.number(), v.integer(), v.description("Sessions stored now.")),
    nextSweep: v.pipe(
      v.nullable(v.number()),
      v.description("When the alarm next sweeps (seconds since the epoch); null when none is set."),
    ),
    pendingEvents: v.pipe(v.number(), v.integer(), v.description("Events waiting for the Queue.")),
    usage: v.pipe(
      v.strictObject({
        rowsRead: v.pipe(v.number(), v.integer()),
        rowsWritten: v.pipe(v.number(), v.integer()),
      }),
      v.description("SQLite rows read and written since the objects started."),
    ),
    layout: v.pipe(
      v.strictObject({
        epoch: v.pipe(v.number(), v.integer(), v.description("Grows by one with every layout.")),
        shards: v.pipe(v.number(), v.integer(), v.description("Objects keys are routed to.")),
        from: v.pipe(
          v.nullable(v.pipe(v.number(), v.integer())),
          v.description("While sessions move: the shard count they come from; null once in place."),
        ),
        placement: v.strictObject({
          jurisdiction: v.optional(v.string()),
          locationHint: v.optional(v.string()),
        }),
      }),
      v.description("Where the app's keys are routed now (see docs/operating.md, Growing an app)."),
    ),
    moved: v.pipe(
      v.strictObject({
        out: v.pipe(v.number(), v.integer()),
        in: v.pipe(v.number(), v.integer()),
      }),
      v.description("Sessions handed off and taken in by moves since the objects started."),
    ),
    deleting: v.optional(
      v.pipe(
        v.literal(true),
        v.description(
          "Present while the app is being deleted: `sessions` are the ones left to end, `pendingEvents` the end events not sent yet.",
        ),
      ),
    ),
  }),
  v.title("AppStats"),
);

/** The answer of `DELETE /v1/apps/{app}`: how far the deletion has come. */
export const AppDeletionSchema = v.pipe(
  v.strictObject({
    app: v.string(),
    deleted: v.pipe(
      v.boolean(),
      v.description(
        "true once every object of the app holds nothing: the name opens as a new app. false while the work goes on (202).",
      ),
    ),
    sessions: v.pipe(v.number(), v.integer(), v.description("Sessions not ended yet.")),
    pendingEvents: v.pipe(
      v.number(),
      v.integer(),
      v.description("End events written and not yet accepted by the Queue."),
    ),
  }),
  v.title("AppDeletion"),
);
