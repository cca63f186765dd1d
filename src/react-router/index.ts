// React Router: a SessionStorage backed by edge sessions. The public API of the `./react-router` entry.
export { createEdgeSessionStorage, type EdgeSessionStorageOptions } from "./session-storage.js";
