import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type SessionSnapshot,
  sessionView,
  sessionViewHead,
  sessionViewJson,
  snapshotOfView,
} from "../../src/core/session-view";
import { resultOfText, resultText } from "../../src/routing/wire";

const snapshot = (data: Record<string, unknown>, version = 3): SessionSnapshot => ({
  key: 'k "quoted" ü',
  sid: version === 0 ? null : "9b7c1d0e-sid",
  version,
  created: 4_000_000_000.125,
  lastModified: version === 0 ? null : 4_000_000_020,
  data: data as SessionSnapshot["data"],
});

describe("compact reads: the view built around the stored data JSON", () => {
  it("is the very text JSON.stringify makes of the view", () => {
    for (const s of [
      snapshot({ n: 1, "2": "numeric key", __proto__x: { deep: [1, null, "é"] } }),
      snapshot({ ["__proto__"]: { x: 1 } }),
      snapshot({}, 0),
    ]) {
      expect(sessionViewJson(s, JSON.stringify(s.data))).toBe(JSON.stringify(sessionView(s)));
    }
  });

  it("turns back into the same snapshot, whatever the data", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
        const s = snapshot(JSON.parse(JSON.stringify(data)));
        const text = sessionViewJson(s, JSON.stringify(s.data));
        expect(text).toBe(JSON.stringify(sessionView(s)));
        expect(snapshotOfView(text)).toEqual(s);
        expect(sessionViewHead(text)).toEqual({ key: s.key, sid: s.sid, version: s.version });
      }),
    );
  });

  it("reads the key, sid and version at its head (what the ETag needs), and nothing else", () => {
    const s = snapshot({ note: ',"isNew":true' });
    expect(sessionViewHead(sessionViewJson(s, JSON.stringify(s.data)))).toEqual({
      key: s.key,
      sid: s.sid,
      version: 3,
    });
    expect(sessionViewHead(sessionViewJson(snapshot({}, 0), "{}"))).toEqual({
      key: s.key,
      sid: null,
      version: 0,
    });
    expect(() => sessionViewHead('{"key":"k"}')).toThrow(TypeError);
  });

  it("reads the head of any key, sid and version, with or without escapes in them", () => {
    const plain = { ...snapshot({ a: 1 }), key: "abc-123", sid: "0b6c2f0e-1d2e", version: 12 };
    expect(sessionViewHead(sessionViewJson(plain, '{"a":1}'))).toEqual({
      key: "abc-123",
      sid: "0b6c2f0e-1d2e",
      version: 12,
    });
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.string(), { nil: null }),
        fc.nat(),
        (key, sid, version) => {
          const s = { ...snapshot({}), key, sid, version };
          expect(sessionViewHead(sessionViewJson(s, "{}"))).toEqual({ key, sid, version });
        },
      ),
    );
  });
});

describe("a compact read's answer as one string", () => {
  it("is the Result as JSON text, read back without parsing the view", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (data) => {
        const s = snapshot(JSON.parse(JSON.stringify(data)));
        const view = sessionViewJson(s, JSON.stringify(s.data));
        const text = resultText({ ok: true, value: view });
        expect(JSON.parse(text)).toEqual({ ok: true, value: JSON.parse(view) });
        expect(resultOfText(text)).toEqual({ ok: true, value: view });
      }),
    );
  });

  it("carries a missing session as null and an error whole", () => {
    expect(resultOfText(resultText({ ok: true, value: null }))).toEqual({ ok: true, value: null });
    const error = {
      code: "wrong_shard" as const,
      status: 409,
      message: 'Key "k" lives elsewhere.',
      shards: 4,
    };
    const text = resultText({ ok: false, error });
    expect(JSON.parse(text)).toEqual({ ok: false, error });
    expect(resultOfText(text)).toEqual({ ok: false, error });
  });
});
