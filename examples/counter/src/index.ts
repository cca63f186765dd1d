// The counter example's Worker. A Worker module exports only its handlers, so the app and its
// types live in app.ts, where tests import them.
import { app } from "./app";

export default app;
