// For Workers that host the session manager's Durable Object class themselves.

export {
  MAX_BATCH_BYTES,
  MAX_BATCH_MESSAGES,
  MAX_MESSAGE_BYTES,
  Outbox,
  type SendBatch,
} from "./outbox.js";
export { SessionManagerObject } from "./session-manager-object.js";
export { SCHEMA_VERSION, SqlStore } from "./sql-store.js";
