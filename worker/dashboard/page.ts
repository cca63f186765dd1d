/**
 * The dashboard's markup: the form that asks for the app and the token, and a place for every
 * figure. Each number carries `data-figure` (the path of its value in the JSON of
 * `GET /v1/apps/{app}/metrics`, or `hour.*` for a sum over the last hour) and `data-value` (the
 * value itself), which the script fills in and the browser test reads.
 */
import { DASHBOARD_SCRIPT } from "./script";
import { DASHBOARD_STYLE } from "./style";

/** The end reasons, in the order the page shows them. */
const REASONS = ["expired", "invalidated", "regenerated", "revoked", "evicted"] as const;

/** A figure: a number the script fills in, with a label. */
function figure(name: string, label: string, big = false): string {
  return `<div class="figure${big ? " big" : ""}"><dt>${label}</dt><dd data-figure="${name}" data-value="">–</dd></div>`;
}

/** The quantiles of a histogram, as figures. */
function quantiles(name: string): string {
  return [
    figure(`${name}.count`, "Sessions"),
    figure(`${name}.mean`, "Mean"),
    figure(`${name}.p50`, "Median"),
    figure(`${name}.p90`, "90th percentile"),
    figure(`${name}.p99`, "99th percentile"),
  ].join("");
}

/** A chart's place: the script draws an SVG into it, with a text alternative. */
function chart(id: string, label: string): string {
  return `<div class="chart" id="${id}" role="img" aria-label="${label}"></div>`;
}

/**
 * The page, with `nonce` on its inline style and script (the Content-Security-Policy allows
 * nothing else).
 */
export function dashboardPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>edge sessions · dashboard</title>
<style nonce="${nonce}">${DASHBOARD_STYLE}</style>
</head>
<body>
<header class="top">
  <h1>edge sessions <span>dashboard</span></h1>
  <p id="status" class="status"></p>
  <button type="button" id="disconnect" hidden>Change app or token</button>
</header>
<div id="problem" class="problem" role="alert" hidden></div>
<div id="deletion" class="notice" role="status" hidden>App <strong id="deletion-app"></strong> is being deleted: <strong data-figure="live" data-value="">–</strong> sessions left to end, <strong data-figure="outbox.backlog" data-value="">–</strong> end events left to send.</div>
<form id="connect" class="connect" autocomplete="off">
  <h2>Connect</h2>
  <p>The page asks this worker for an app's figures (<code>GET /v1/apps/{app}/metrics</code>) every 5 seconds. Your API token stays in this tab (sessionStorage) and is sent to this worker only.</p>
  <label for="app">App</label>
  <input id="app" required maxlength="128" spellcheck="false" autocapitalize="off" placeholder="shop">
  <label for="token">API token</label>
  <input id="token" type="password" required spellcheck="false" autocapitalize="off">
  <div class="actions"><button type="submit">Show the figures</button> <button type="button" id="forget" class="quiet" hidden>Forget the token</button></div>
</form>
<main id="figures" hidden>
  <section aria-labelledby="now-title">
    <h2 id="now-title">Now</h2>
    <dl class="figures">
      ${figure("live", "Sessions now", true)}
      ${figure("hour.created", "Created, last hour")}
      ${figure("hour.ended", "Ended, last hour")}
      ${figure("hour.commits", "Commits, last hour")}
      ${figure("hour.conflicts", "Conflicts, last hour")}
      ${figure("hour.refused", "Refused, last hour")}
      ${figure("sweepLag", "Sweep lag")}
      ${figure("outbox.backlog", "Outbox backlog")}
      ${figure("outbox.oldestAge", "Oldest event waiting")}
    </dl>
    <p class="note">Shards: <span data-figure="shards.answered" data-value="">–</span> of <span data-figure="shards.count" data-value="">–</span> answered. <span id="missing-line">Did not answer: <span data-figure="shards.missing" data-value="">–</span>.</span></p>
  </section>
  <section aria-labelledby="minutes-title" class="wide">
    <h2 id="minutes-title">Sessions created and ended per minute</h2>
    <ul class="legend" id="minutes-legend"></ul>
    ${chart("minutes-chart", "Sessions created and ended per minute over the last hour")}
  </section>
  <section aria-labelledby="commits-title" class="wide">
    <h2 id="commits-title">Commits and conflicts per minute</h2>
    <ul class="legend" id="commits-legend"></ul>
    ${chart("commits-chart", "Commits and conflicts per minute over the last hour")}
    <details>
      <summary>The last hour, minute by minute</summary>
      <div class="scroll"><table id="minutes-table">
        <caption>Counts per minute (minutes without counts are zeros)</caption>
        <thead><tr><th scope="col">Minute</th><th scope="col">Created</th>${REASONS.map((r) => `<th scope="col">Ended: ${r}</th>`).join("")}<th scope="col">Commits</th><th scope="col">Conflicts</th><th scope="col">Refused</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </details>
  </section>
  <section aria-labelledby="shards-title">
    <h2 id="shards-title">Shard balance</h2>
    <p class="note">Live sessions per shard.</p>
    ${chart("shards-chart", "Live sessions per shard")}
  </section>
  <section aria-labelledby="move-title">
    <h2 id="move-title">Move</h2>
    <p id="no-move" class="note">No change of shard count under way.</p>
    <div id="move" hidden>
      <p>From <strong data-figure="move.from" data-value="">–</strong> to <strong data-figure="move.to" data-value="">–</strong> shards: <strong data-figure="move.left" data-value="">–</strong> sessions left to move.</p>
      ${chart("move-chart", "Share of live sessions in place")}
    </div>
  </section>
  <section aria-labelledby="refused-title">
    <h2 id="refused-title">Refused calls by code</h2>
    <p id="no-refusals" class="note">No call refused.</p>
    ${chart("refused-chart", "Refused calls by error code, since the app began")}
  </section>
  <section aria-labelledby="alive-title">
    <h2 id="alive-title">Time alive of ended sessions</h2>
    <dl class="figures small">${quantiles("timeAlive")}</dl>
    ${chart("alive-chart", "Histogram of the time alive of ended sessions")}
  </section>
  <section aria-labelledby="idle-title">
    <h2 id="idle-title">Idle time of live sessions</h2>
    <dl class="figures small">${quantiles("idle")}</dl>
    ${chart("idle-chart", "Histogram of the idle time of live sessions")}
  </section>
  <section aria-labelledby="totals-title">
    <h2 id="totals-title">Since the app began</h2>
    <dl class="figures small">
      ${figure("totals.created", "Created")}
      ${REASONS.map((r) => figure(`totals.ended.${r}`, `Ended: ${r}`)).join("")}
      ${figure("totals.commits", "Commits")}
      ${figure("totals.conflicts", "Conflicts")}
    </dl>
  </section>
</main>
<script nonce="${nonce}">${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
