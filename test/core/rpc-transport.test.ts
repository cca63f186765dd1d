import { describe, expect, it } from "vitest";
import { rpcTransport, type SessionManagerRpc } from "../../src/index";

/** An RPC target whose calls fail with `errors` in turn, then answer; it counts the targets made. */
function flakyTarget(errors: object[]) {
  const made = { targets: 0, calls: 0 };
  const target = (): SessionManagerRpc => {
    made.targets++;
    return {
      has: async () => {
        made.calls++;
        const error = errors.shift();
        if (error !== undefined) throw Object.assign(new Error("rpc failed"), error);
        return { ok: true, value: true };
      },
    } as unknown as SessionManagerRpc;
  };
  return { made, target };
}

describe("RPC retries, as Cloudflare documents them", () => {
  it("retries an error marked retryable on a fresh target", async () => {
    const { made, target } = flakyTarget([{ retryable: true }, { retryable: true }]);
    await expect(rpcTransport("app", target).has("k")).resolves.toBe(true);
    expect(made.calls).toBe(3);
    expect(made.targets).toBe(3);
  });

  it("never retries an overloaded object", async () => {
    const { made, target } = flakyTarget([{ retryable: true, overloaded: true }]);
    await expect(rpcTransport("app", target).has("k")).rejects.toMatchObject({ overloaded: true });
    expect(made.calls).toBe(1);
  });

  it("never retries an error that is not marked retryable", async () => {
    const { made, target } = flakyTarget([{}]);
    await expect(rpcTransport("app", target).has("k")).rejects.toThrow("rpc failed");
    expect(made.calls).toBe(1);
  });

  it("never retries a change, which might have been applied already", async () => {
    const made = { calls: 0 };
    const target = () =>
      ({
        commit: async () => {
          made.calls++;
          throw Object.assign(new Error("connection lost"), { retryable: true });
        },
      }) as unknown as SessionManagerRpc;
    const changes = { key: "k", sid: null, version: 0, set: { n: 1 } };
    await expect(rpcTransport("app", target).commit(changes)).rejects.toThrow("connection lost");
    expect(made.calls).toBe(1);
  });

  it("gives up after a few retries", async () => {
    const { made, target } = flakyTarget(Array.from({ length: 10 }, () => ({ retryable: true })));
    await expect(rpcTransport("app", target).has("k")).rejects.toMatchObject({ retryable: true });
    expect(made.calls).toBe(4);
  });
});
