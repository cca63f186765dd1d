// The subclass snippet of docs/hosting.md ("Hosting the Durable Object yourself"), as a consumer
// Worker would hold it. test/core/readme.test.ts checks that the code between the markers is the
// guide's, word for word (but for the import paths), and `npm run typecheck` that it typechecks
// under strict settings; test/workers/readme-hosting.test.ts runs its hook.

// README: begin
import { SessionManagerObject } from "../../durable-object/index";
import type { SessionEndEvent } from "../../src/index";

export class Sessions extends SessionManagerObject {
  protected override onSessionEnd(event: SessionEndEvent): void {
    // Never log event.key: it is the session ID, which a cookie carries as a credential.
    console.log("session ended", event.app, event.reason);
  }
}
// README: end
