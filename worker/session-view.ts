// The HTTP API shows sessions in the one form every transport uses (src/stored-session.ts);
// compact reads build its JSON text in the Durable Object (src/view.ts).
export { type SessionView, sessionView } from "../src/index";
export { sessionViewHead } from "../src/view";
