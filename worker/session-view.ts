// The HTTP API shows sessions in the one form every transport uses (src/stored-session.ts).
export { type SessionView, sessionView } from "../src/stored-session";
