// The HTTP form of a session lives in the core (compact reads build it in the Durable Object).
export { type SessionView, sessionView, sessionViewJson } from "../src/index";
