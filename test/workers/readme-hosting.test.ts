// The subclass snippet of docs/hosting.md: its end hook logs what ended and why, never the session ID.
import { describe, expect, it, vi } from "vitest";
import type { StoredSession } from "../../src/core/session-view";
import { SessionEndEvent } from "../../src/index";
import { Sessions } from "./readme-hosting";

describe("the README's SessionManagerObject subclass", () => {
  it("logs an ended session's app and reason, and not its key (the session ID)", () => {
    const key = "a-session-id-that-must-not-be-logged";
    const session = {
      key,
      sid: "0b6c2f0e-sid",
      version: 1,
      created: 1,
      lastModified: 1,
      sliceEnd: 20,
      data: { user: "fred" },
      keyVersions: {},
      clearedVersion: 0,
    } as unknown as StoredSession;
    const logged = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      // The hook alone: it reads nothing of the object it belongs to.
      const hook = (Sessions.prototype as unknown as { onSessionEnd(e: SessionEndEvent): void })
        .onSessionEnd;
      hook.call(undefined, new SessionEndEvent("shop", session, "invalidated", 2));
      expect(logged.mock.calls).toEqual([["session ended", "shop", "invalidated"]]);
      expect(JSON.stringify(logged.mock.calls)).not.toContain(key);
    } finally {
      logged.mockRestore();
    }
  });
});
