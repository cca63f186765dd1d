/**
 * The values of the user routes (docs/DESIGN.md#users): the user and handle path parameters, the
 * sign-in body, a user's sessions as a listing shows them, and what ending them answers.
 */
import * as v from "valibot";
import { invalidUserMessage, MAX_LABELS_BYTES, MAX_USER_LENGTH } from "../../src/core/users";
import { SignInChangesSchema } from "./sessions";

const userMessage = (issue: v.BaseIssue<unknown>) => invalidUserMessage(issue.input);

/** A user identifier (path parameter `user`, percent-encoded; and a sign-in's `user`). */
export const UserSchema = v.pipe(
  v.string(userMessage),
  v.minLength(1, userMessage),
  v.maxLength(MAX_USER_LENGTH, userMessage),
  v.description(
    `The user's identifier in the app: 1-${MAX_USER_LENGTH} characters (UTF-16 code units), such as its ID in the app's database; percent-encoded in a path. It never appears in a session key.`,
  ),
);

/** The characters of a handle, as the service makes them. */
const HANDLE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const handleMessage = () =>
  "Invalid handle: use one from the user's listing (GET /v1/apps/{app}/users/{user}/sessions), 1-64 characters of A-Z, a-z, 0-9, _ and -.";

/** A session's handle (path parameter `handle`). */
export const HandleSchema = v.pipe(
  v.string(handleMessage),
  v.regex(HANDLE_PATTERN, handleMessage),
  v.description(
    "A handle from the user's listing: it ends that one session, and nothing else (it never reads the session nor stands for its key).",
  ),
);

/** Sign-in labels: a JSON object (its size is checked by the service). */
const LabelsSchema = v.pipe(
  v.record(
    v.string(),
    v.unknown(),
    () => 'Invalid sign-in labels: labels must be a JSON object, such as { "device": "Laptop" }.',
  ),
  v.description(
    `What the app says about the session, shown in the user's listing: a device name, a user agent. A JSON object of at most ${MAX_LABELS_BYTES} bytes serialized.`,
  ),
);

/** The body of a sign-in. */
export const SignInRequestSchema = v.pipe(
  v.strictObject(
    {
      user: UserSchema,
      labels: v.optional(LabelsSchema),
      changes: SignInChangesSchema,
    },
    'A sign-in body must be { "user": "<the user\'s identifier>", "labels"?: { ... }, "changes": { "version": <n>, "sid": <sid or null>, ... } }.',
  ),
  v.title("SignInRequest"),
);

const Seconds = (description: string) => v.pipe(v.number(), v.description(description));

/** One live session of a user, as a listing shows it. */
export const UserSessionSchema = v.pipe(
  v.strictObject({
    handle: v.pipe(
      v.string(),
      v.description("Ends this session (DELETE .../sessions/{handle}); never reads it."),
    ),
    created: Seconds("When the session began (seconds since the epoch)."),
    lastActive: Seconds(
      "Its last access happened at or after this moment, within one period (seconds since the epoch).",
    ),
    expires: Seconds("When it expires unless it is used again (seconds since the epoch)."),
    labels: v.pipe(
      v.record(v.string(), v.unknown()),
      v.description("The labels given at sign-in ({} when none)."),
    ),
    current: v.pipe(
      v.boolean(),
      v.description("Whether it is the session the request named as its own (?own=)."),
    ),
  }),
  v.title("UserSession"),
);

/** A user's live sessions: most recently active first. */
export const UserSessionsSchema = v.pipe(
  v.strictObject({
    user: v.string(),
    sessions: v.pipe(
      v.array(UserSessionSchema),
      v.description("Most recently active first; never empty (no session: 404 user_not_found)."),
    ),
  }),
  v.title("UserSessions"),
);

/** What ending a user's sessions answers. */
export const EndedSchema = v.pipe(
  v.strictObject({
    ended: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("How many sessions ended (end event `revoked`, one each)."),
    ),
  }),
  v.title("Ended"),
);
