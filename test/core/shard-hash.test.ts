// The shard hash, pinned (docs/DESIGN.md#sharding): `shardOf` decides which object holds every
// stored session, so a change to it would look for every session in the wrong object. The
// placements below are literals, written down once from the spec (32-bit FNV-1a over UTF-16 code
// units, offset basis 0x811c9dc5, prime 0x01000193, modulo N) and checked here against an
// implementation of that spec written apart from the code under test. Never edit a literal to
// make a test pass: a failure here means stored sessions would be looked for in the wrong object.
import { describe, expect, it } from "vitest";
import { objectName, shardOf } from "../../src/index";
import { ownerOf, sourceOf } from "../../src/routing/layout";

/** Shard counts the table pins, from the smallest to the largest allowed. */
const COUNTS = [2, 3, 4, 7, 16, 64, 256] as const;

/** Key → its 32-bit FNV-1a hash and its shard under each of `COUNTS`, in that order. */
const PINNED: [key: string, hash: number, shards: number[]][] = [
  ["", 0x811c9dc5, [1, 1, 1, 2, 5, 5, 197]],
  ["a", 0xe40c292c, [0, 1, 0, 5, 12, 44, 44]],
  ["foobar", 0xbf9cf968, [0, 1, 0, 0, 8, 40, 104]],
  ["user-1", 0xf5537974, [0, 1, 0, 3, 4, 52, 116]],
  ["k0", 0x973d7f2e, [0, 1, 2, 1, 14, 46, 46]],
  ["shop:cart", 0xc45988db, [1, 1, 3, 3, 11, 27, 219]],
  ["A.b_c~d:e@f-9", 0xac7159e1, [1, 2, 1, 6, 1, 33, 225]],
  // The longest session key allowed (256 characters).
  ["x".repeat(256), 0x46b491c5, [1, 1, 1, 3, 5, 5, 197]],
  [`session-${"0123456789abcdef".repeat(15)}`, 0x04a59056, [0, 0, 2, 2, 6, 22, 86]],
  // Not session keys (those are ASCII), but the hash is over UTF-16 code units, not UTF-8 bytes
  // or code points: these tell the three apart.
  ["ключ", 0x33a28ab9, [1, 2, 1, 6, 9, 57, 185]],
  ["日本語", 0x5406374e, [0, 1, 2, 2, 14, 14, 78]],
  ["🍪", 0x872edf43, [1, 0, 3, 3, 3, 3, 67]],
  ["café", 0x3308be7c, [0, 1, 0, 6, 12, 60, 124]],
];

/**
 * FNV-1a (32 bits) as the spec states it, in exact integer arithmetic: no `Math.imul`, no
 * shifts, nothing shared with src/core/names.ts.
 */
function referenceFnv1a(key: string): number {
  let hash = 0x811c9dc5n;
  for (let i = 0; i < key.length; i++) {
    hash ^= BigInt(key.charCodeAt(i));
    hash = (hash * 0x01000193n) % 0x1_0000_0000n;
  }
  return Number(hash);
}

describe("the shard hash", () => {
  it("the reference implementation gives FNV-1a's published test vectors", () => {
    // From the FNV reference test suite (draft-eastlake-fnv, FNV-1a 32-bit).
    expect(referenceFnv1a("")).toBe(0x811c9dc5);
    expect(referenceFnv1a("a")).toBe(0xe40c292c);
    expect(referenceFnv1a("foobar")).toBe(0xbf9cf968);
  });

  it("the pinned placements are FNV-1a over UTF-16 code units, modulo the shard count", () => {
    for (const [key, hash, shards] of PINNED) {
      expect(referenceFnv1a(key), key).toBe(hash);
      expect(
        COUNTS.map((n) => hash % n),
        key,
      ).toEqual(shards);
    }
  });

  it.each(COUNTS.map((n, i) => [n, i] as const))(
    "shardOf places every pinned key where it was pinned, with %i shards",
    (n, i) => {
      for (const [key, , shards] of PINNED) expect(shardOf(key, n), key).toBe(shards[i]);
    },
  );

  it("shardOf with one shard is always 0", () => {
    for (const [key] of PINNED) expect(shardOf(key, 1)).toBe(0);
  });

  it("objectName and a layout's owner and source name the pinned objects", () => {
    expect(objectName("shop", "user-1", 4)).toBe("shop#0");
    expect(objectName("shop", "shop:cart", 4)).toBe("shop#3");
    expect(objectName("shop", "k0", 16)).toBe("shop#14");
    expect(objectName("shop", "user-1", 1)).toBe("shop");
    const layout = { epoch: 2, shards: 7, from: 256, placement: {} };
    expect(ownerOf("shop", "shop:cart", layout)).toBe("shop#3");
    expect(sourceOf("shop", "shop:cart", layout)).toBe("shop#219");
  });
});
