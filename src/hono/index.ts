// Hono middleware: cookie sessions for any Hono app. The public API of the `./hono` entry.
export type { UserSession } from "../core/users.js";
export type { SessionsOptions } from "./options.js";
export {
  type AnySessionData,
  FLASH_KEY,
  Session,
  type SessionEnv,
  type SessionShape,
} from "./session.js";
export { sessions } from "./sessions.js";
