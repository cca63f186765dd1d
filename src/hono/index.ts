// Hono middleware: cookie sessions for any Hono app.
export { CookieSigner, newSessionId, rawCookie, SESSION_ID_BYTES } from "./cookie-signature.js";
export {
  type AnySessionData,
  FLASH_KEY,
  Session,
  type SessionEnv,
  type SessionShape,
  type SessionsOptions,
  sessions,
} from "./sessions.js";
