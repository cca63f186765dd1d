// Hono middleware: cookie sessions for any Hono app.
export { CookieSigner, newSessionId, SESSION_ID_BYTES } from "./cookie-signature.js";
export { FLASH_KEY, Session, type SessionsOptions, sessions } from "./sessions.js";
