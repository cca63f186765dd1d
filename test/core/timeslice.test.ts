import { describe, expect, it } from "vitest";
import { expiresAt, isExpired, sliceEnd } from "../../src/core/timeslice";
import { timeslice } from "../../src/index";

describe("timeslice", () => {
  it("is the start of the period that contains the time", () => {
    expect(timeslice(20, 1234)).toBe(1220);
    expect(timeslice(20, 1240)).toBe(1240);
    expect(timeslice(1, 629)).toBe(629);
    expect(timeslice(20, 19.5)).toBe(0);
  });

  it("ends one period after it starts: what an access records", () => {
    expect(sliceEnd(20, 1234)).toBe(1240);
    expect(sliceEnd(20, 1240)).toBe(1260);
    expect(sliceEnd(1, 629)).toBe(630);
  });

  it("counts a session expired once timeout has passed since the end of its slice", () => {
    // timeout 30, period 1, last access at 600 (slice end 601): live at 630, expired at 631.
    expect(isExpired(601, 630, 30)).toBe(false);
    expect(isExpired(601, 631, 30)).toBe(true);
    expect(expiresAt(601, 30)).toBe(631);
  });

  it("agrees with N - slice > timeout when the period divides the timeout", () => {
    // timeout 40, period 20: slice 0 is live at 40 (40 - 0 <= 40), expired at 60.
    expect(expiresAt(sliceEnd(20, 0), 40)).toBe(60);
    for (let now = 0; now < 200; now += 0.5) {
      const N = timeslice(20, now);
      expect(isExpired(sliceEnd(20, 0), now, 40)).toBe(N - 0 > 40);
    }
  });

  it("never ends a session sooner than timeout after its last access", () => {
    // timeout 30, period 20: an access at 19.9 lies in slice 0. Counting from the slice's start
    // (N - slice > 30 at N = 40) would end it 20.1 s after that access; counting from its end,
    // it lives until 50.
    expect(expiresAt(sliceEnd(20, 19.9), 30)).toBe(50);
    expect(isExpired(sliceEnd(20, 19.9), 49.9, 30)).toBe(false);
    expect(isExpired(sliceEnd(20, 19.9), 50, 30)).toBe(true);
  });
});
