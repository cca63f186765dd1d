import { describe, expect, it } from "vitest";
import { expiresAt, isExpired, timeslice } from "../../src/index";

describe("timeslice", () => {
  it("is the start of the period that contains the time", () => {
    expect(timeslice(20, 1234)).toBe(1220);
    expect(timeslice(20, 1240)).toBe(1240);
    expect(timeslice(1, 629)).toBe(629);
    expect(timeslice(20, 19.5)).toBe(0);
  });

  it("counts a session live while now - slice <= timeout", () => {
    expect(isExpired(0, 30, 30)).toBe(false);
    expect(isExpired(0, 31, 30)).toBe(true);
  });

  it("gives the first period start at which a session counts as expired", () => {
    // timeout 30, period 20: slice 0 is live at 20 (20 <= 30), expired at 40.
    expect(expiresAt(0, 30, 20)).toBe(40);
    expect(isExpired(0, 40, 30)).toBe(true);
    expect(isExpired(0, 20, 30)).toBe(false);
    // timeout 40, period 20: live at 40 (40 <= 40), expired at 60.
    expect(expiresAt(0, 40, 20)).toBe(60);
  });
});
