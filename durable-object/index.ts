// For Workers that host the session manager's Durable Object class themselves: the class to
// export (or extend, for the onSessionBegin / onSessionEnd hooks). Nothing else is public here.
export { SessionManagerObject } from "./session-manager-object.js";
