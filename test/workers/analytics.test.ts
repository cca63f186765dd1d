// Analytics Engine data points (docs/operating.md#analytics-engine): with a SESSION_METRICS
// dataset bound, one point per request to the HTTP API and one per session event the Queue
// consumer receives, laid out as the documented SQL queries read them; without one, none.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { logSessionEvents } from "../../worker/queue";
import { apiRequest } from "./helpers";

/** A dataset that keeps what is written to it. */
function fakeDataset(): AnalyticsEngineDataset & { points: AnalyticsEngineDataPoint[] } {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, writeDataPoint: (point) => void points.push(point ?? {}) };
}

const AUTH = { Authorization: "Bearer test-token" };
let apps = 0;

describe("a point per request to the HTTP API", () => {
  it("names the app, the operation, the status, the error code and the duration", async () => {
    const app = `ae-req-${++apps}`;
    const dataset = fakeDataset();
    const withDataset = { ...env, SESSION_METRICS: dataset };
    const path = `/v1/apps/${app}/sessions/a`;
    const commit = (body: unknown) =>
      apiRequest(
        path,
        {
          method: "PATCH",
          headers: { ...AUTH, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        },
        withDataset,
      );
    const stored = (await (await commit({ version: 0, set: { n: 1 } })).json()) as { sid: string };
    await commit({ version: 1, sid: stored.sid, set: { n: 2 } });
    expect((await commit({ version: 1, sid: stored.sid, set: { n: 3 } })).status).toBe(409);
    await apiRequest(path, { method: "HEAD", headers: AUTH }, withDataset);
    await apiRequest(path, { headers: { Authorization: "Bearer wrong" } }, withDataset);

    expect(dataset.points.map((p) => ({ ...p, doubles: p.doubles?.[0] }))).toEqual([
      { indexes: [app], blobs: ["request", app, "commit", ""], doubles: 200 },
      { indexes: [app], blobs: ["request", app, "commit", ""], doubles: 200 },
      { indexes: [app], blobs: ["request", app, "commit", "conflict"], doubles: 409 },
      { indexes: [app], blobs: ["request", app, "has", ""], doubles: 200 },
      { indexes: [app], blobs: ["request", app, "query", "unauthorized"], doubles: 401 },
    ]);
    for (const point of dataset.points) {
      expect(point.doubles).toHaveLength(2);
      expect(point.doubles?.[1]).toBeGreaterThanOrEqual(0);
    }
  });

  it("writes a refused request's code, and no app that is not a valid name", async () => {
    const dataset = fakeDataset();
    const withDataset = { ...env, SESSION_METRICS: dataset };
    await apiRequest("/v1/apps/Not%20An%20App/sessions/a", { headers: AUTH }, withDataset);
    await apiRequest("/v1/nowhere", { headers: AUTH }, withDataset);
    await apiRequest("/v1/apps/ae-missing", { method: "POST", headers: AUTH }, withDataset);
    await apiRequest("/v1/apps/ae-missing/sessions/k", { headers: AUTH }, withDataset);
    expect(dataset.points.map((p) => [p.indexes, ...(p.blobs ?? []), p.doubles?.[0]])).toEqual([
      [[""], "request", "", "query", "invalid_key", 400],
      [[""], "request", "", "unknown", "no_route", 404],
      [["ae-missing"], "request", "ae-missing", "open", "", 200],
      [["ae-missing"], "request", "ae-missing", "query", "not_found", 404],
    ]);
  });

  it("writes nothing for the public pages, nor without a dataset", async () => {
    const dataset = fakeDataset();
    for (const path of ["/healthz", "/v1/openapi.json", "/dashboard"]) {
      expect((await apiRequest(path, {}, { ...env, SESSION_METRICS: dataset })).status).toBe(200);
    }
    expect(dataset.points).toEqual([]);
    // And without the binding, the API answers as ever.
    const res = await apiRequest(
      `/v1/apps/ae-none-${++apps}`,
      { method: "POST", headers: AUTH },
      env,
    );
    expect(res.status).toBe(200);
  });
});

describe("a point per session event the Queue consumer receives", () => {
  it("names the app, the type, the reason and the id, with the time alive of an end", async () => {
    const dataset = fakeDataset();
    const bodies = [
      { id: "s1:begin", type: "begin", app: "shop", key: "k", created: 100, at: 100 },
      {
        id: "s1:end",
        type: "end",
        app: "shop",
        key: "k",
        reason: "expired",
        created: 100,
        at: 1400,
      },
      { id: "s2:end", type: "end", app: "shop", key: "j", reason: "revoked", created: 50, at: 50 },
      { hello: "not a session event" },
    ];
    let acked = false;
    const batch = {
      queue: "edge-sessions-events",
      messages: bodies.map((body, i) => ({ id: `m${i}`, body })),
      ackAll: () => {
        acked = true;
      },
    } as unknown as MessageBatch;
    await logSessionEvents(batch, { SESSION_METRICS: dataset });
    expect(dataset.points).toEqual([
      { indexes: ["shop"], blobs: ["event", "shop", "begin", "", "s1:begin"], doubles: [0] },
      { indexes: ["shop"], blobs: ["event", "shop", "end", "expired", "s1:end"], doubles: [1300] },
      { indexes: ["shop"], blobs: ["event", "shop", "end", "revoked", "s2:end"], doubles: [0] },
    ]);
    expect(acked).toBe(true);
  });

  it("writes nothing without a dataset", async () => {
    const batch = {
      messages: [{ id: "m", body: { id: "s:end", type: "end", app: "shop", reason: "expired" } }],
      ackAll: () => {},
    } as unknown as MessageBatch;
    await expect(logSessionEvents(batch, {})).resolves.toBeUndefined();
  });
});
