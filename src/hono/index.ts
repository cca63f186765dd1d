// Hono middleware: cookie sessions for any Hono app. The public API of the `./hono` entry.
export {
  type AnySessionData,
  FLASH_KEY,
  Session,
  type SessionEnv,
  type SessionShape,
  type SessionsOptions,
  sessions,
} from "./sessions.js";
