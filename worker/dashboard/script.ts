/**
 * The dashboard's script, as the browser runs it (plain JavaScript, no build step): it keeps the
 * app and the token in the tab's sessionStorage, polls `GET /v1/apps/{app}/metrics` every 5 s
 * with `Authorization: Bearer`, fills in the figures and draws the charts as inline SVG. It puts
 * text in the page with `textContent` and `setAttribute` only (never HTML), so an app's or a
 * shard's name cannot inject markup. `test/browser/dashboard.test.ts` runs it in Chromium.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  "use strict";
  const POLL_MS = 5000;
  const STORAGE_KEY = "edge-sessions-dashboard";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const REASONS = ["expired", "invalidated", "regenerated", "revoked", "evicted"];
  const COLOURS = {
    created: "#0072B2", expired: "#E69F00", invalidated: "#D55E00", regenerated: "#56B4E9",
    revoked: "#CC79A7", evicted: "#009E73", commits: "#0072B2", conflicts: "#D55E00",
    live: "#0072B2", refused: "#D55E00", alive: "#009E73", idle: "#56B4E9", missing: "#b42318",
  };

  const $ = (id) => document.getElementById(id);
  const form = $("connect");
  const appInput = $("app");
  const tokenInput = $("token");
  const forget = $("forget");
  const figures = $("figures");
  const problem = $("problem");
  const status = $("status");
  const disconnect = $("disconnect");
  const deletion = $("deletion");
  /** The static figures of the page, by name. */
  const slots = new Map();
  for (const el of document.querySelectorAll("[data-figure]")) {
    const name = el.getAttribute("data-figure");
    slots.set(name, (slots.get(name) || []).concat(el));
  }
  let timer;
  /** Bumped whenever polling stops or starts again: an answer of an older round is dropped. */
  let round = 0;
  let lastUpdate = null;
  /** The app whose figures the page has shown: a 404 for it means that it was deleted. */
  let seen = null;

  // --- The app and the token: the tab's sessionStorage only ---------------------------------

  function stored() {
    try {
      const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
      if (value && typeof value.app === "string" && typeof value.token === "string") return value;
    } catch (error) {}
    return { app: "", token: "" };
  }

  function store(app, token) {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ app: app, token: token }));
  }

  // --- Connecting -------------------------------------------------------------------------------

  function showForm(message) {
    stop();
    const saved = stored();
    form.hidden = false;
    disconnect.hidden = true;
    status.textContent = "";
    appInput.value = saved.app;
    tokenInput.value = "";
    tokenInput.required = saved.token === "";
    tokenInput.placeholder = saved.token === "" ? "" : "kept from before: leave empty";
    forget.hidden = saved.token === "";
    if (message) showProblem(message);
    (saved.app === "" ? appInput : tokenInput).focus();
  }

  function stop() {
    round++;
    clearTimeout(timer);
  }

  function start() {
    const saved = stored();
    if (saved.app === "" || saved.token === "") return showForm();
    stop();
    form.hidden = true;
    disconnect.hidden = false;
    status.textContent = "Connecting to " + saved.app + "…";
    poll(saved, round);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const app = appInput.value.trim();
    const token = tokenInput.value.trim() || stored().token;
    if (app === "") return showProblem("Enter the app's name.");
    if (token === "") return showProblem("Enter the API token.");
    store(app, token);
    tokenInput.value = "";
    hideProblem();
    deletion.hidden = true;
    figures.hidden = true;
    lastUpdate = null;
    start();
  });

  forget.addEventListener("click", () => {
    store(appInput.value.trim(), "");
    showForm();
  });

  disconnect.addEventListener("click", () => {
    hideProblem();
    deletion.hidden = true;
    showForm();
  });

  // --- Polling ----------------------------------------------------------------------------------

  async function poll(saved, mine) {
    let response;
    let body = null;
    try {
      response = await fetch("/v1/apps/" + encodeURIComponent(saved.app) + "/metrics", {
        headers: { Authorization: "Bearer " + saved.token, Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
      });
      try {
        body = await response.json();
      } catch (error) {}
    } catch (error) {
      if (mine !== round) return;
      showProblem(
        "Cannot reach the worker (" + (error && error.message ? error.message : "network error") +
          "). " + staleNote() + "Trying again in " + POLL_MS / 1000 + " s.",
      );
      markStale(saved);
      return next(saved, mine);
    }
    if (mine !== round) return;
    if (response.ok && body && typeof body.live === "number") {
      hideProblem();
      seen = saved.app;
      render(body, saved);
      return next(saved, mine);
    }
    const code = body && body.error ? body.error.code : undefined;
    const said = body && body.error && body.error.message ? " The worker says: " + body.error.message : "";
    if (response.status === 401) {
      store(saved.app, "");
      return showForm("The API token was refused (401 " + (code || "unauthorized") + "). Enter the token set as the worker's SESSIONS_API_TOKEN.");
    }
    if (response.status === 404 && code === "app_not_found") {
      figures.hidden = true;
      deletion.hidden = true;
      if (seen === saved.app) {
        seen = null;
        return showForm("App “" + saved.app + "” has been deleted: its sessions ended and its storage was freed (404 app_not_found now). Its name can be used again.");
      }
      return showForm("There is no app named “" + saved.app + "” (404 app_not_found): check its name." + said);
    }
    if (response.status === 400) {
      figures.hidden = true;
      return showForm("“" + saved.app + "” is not a valid app name (400 " + (code || "bad_request") + ")." + said);
    }
    showProblem(
      "The worker answered " + response.status + (code ? " " + code : "") + "." + said + " " +
        staleNote() + "Trying again in " + POLL_MS / 1000 + " s.",
    );
    markStale(saved);
    next(saved, mine);
  }

  function next(saved, mine) {
    if (mine !== round) return;
    clearTimeout(timer);
    timer = setTimeout(() => poll(saved, mine), POLL_MS);
  }

  function staleNote() {
    return lastUpdate === null ? "" : "The figures shown are from " + clock(lastUpdate) + ". ";
  }

  function showProblem(message) {
    problem.textContent = message;
    problem.hidden = false;
  }

  function hideProblem() {
    problem.hidden = true;
    problem.textContent = "";
  }

  function markStale(saved) {
    status.textContent = "";
    status.append("App ", strong(saved.app), lastUpdate === null ? " · not read yet" : " · last read " + clock(lastUpdate) + " (stale)");
  }

  // --- The figures ------------------------------------------------------------------------------

  function render(m, saved) {
    lastUpdate = m.at;
    figures.hidden = false;
    figures.setAttribute("data-at", String(m.at));
    document.title = count(m.live) + " sessions · " + m.app + " · edge sessions";
    status.textContent = "";
    status.append("App ", strong(m.app), " · read " + clock(m.at) + " · every " + POLL_MS / 1000 + " s");

    const minutes = lastHour(m);
    const hour = { created: 0, ended: 0, commits: 0, conflicts: 0, refused: 0, byCode: {} };
    for (const x of minutes) {
      hour.created += x.created;
      hour.ended += endedOf(x);
      hour.commits += x.commits;
      hour.conflicts += x.conflicts;
      for (const code of Object.keys(x.refused)) {
        hour.refused += x.refused[code];
        hour.byCode[code] = (hour.byCode[code] || 0) + x.refused[code];
      }
    }

    // An app being deleted: its sessions end (live falls to 0) and their events are sent.
    $("deletion-app").textContent = m.app;
    deletion.hidden = m.deleting !== true;
    set("live", m.live, count);
    set("hour.created", hour.created, count);
    set("hour.ended", hour.ended, count);
    set("hour.commits", hour.commits, count);
    set("hour.conflicts", hour.conflicts, count);
    set("hour.refused", hour.refused, count);
    set("sweepLag", m.sweepLag, seconds);
    set("outbox.backlog", m.outbox.backlog, count);
    set("outbox.oldestAge", m.outbox.oldestAge, seconds, "none");
    set("shards.answered", m.shards.answered, count);
    set("shards.count", m.shards.count, count);
    set("shards.missing", m.shards.missing.join(","), () => m.shards.missing.join(", "));
    $("missing-line").hidden = m.shards.missing.length === 0;
    $("missing-line").classList.toggle("missing", m.shards.missing.length > 0);
    for (const name of ["timeAlive", "idle"]) {
      set(name + ".count", m[name].count, count);
      for (const q of ["mean", "p50", "p90", "p99"]) set(name + "." + q, m[name][q], seconds);
    }
    set("totals.created", m.totals.created, count);
    for (const r of REASONS) set("totals.ended." + r, m.totals.ended[r] || 0, count);
    set("totals.commits", m.totals.commits, count);
    set("totals.conflicts", m.totals.conflicts, count);

    $("move").hidden = m.move === null;
    $("no-move").hidden = m.move !== null;
    if (m.move !== null) {
      set("move.from", m.move.from, count);
      set("move.to", m.move.to, count);
      set("move.left", m.move.left, count);
      drawMove($("move-chart"), m);
    }

    legend($("minutes-legend"), [["created", "created (up)"]].concat(REASONS.map((r) => [r, "ended: " + r + " (down)"])));
    legend($("commits-legend"), [["commits", "commits"], ["conflicts", "conflicts"]]);
    drawMinutes($("minutes-chart"), minutes, hour);
    drawCommits($("commits-chart"), minutes, hour);
    fillTable(minutes);
    drawShards($("shards-chart"), m);
    drawRefused($("refused-chart"), m, hour.byCode);
    drawHistogram($("alive-chart"), m.timeAlive, COLOURS.alive, "Time alive of ended sessions");
    drawHistogram($("idle-chart"), m.idle, COLOURS.idle, "Idle time of live sessions");
  }

  /** Sets the figure called name: its value (data-value) and its text. */
  function set(name, value, format, empty) {
    for (const el of slots.get(name) || []) {
      el.setAttribute("data-value", value === null ? "" : String(value));
      el.textContent = value === null ? empty || "–" : format(value);
    }
  }

  /** The 60 minutes that end with the one m.at is in, oldest first; a minute without counts is zeros. */
  function lastHour(m) {
    const last = Math.floor(m.at / 60) * 60;
    const given = new Map(m.minutes.map((x) => [x.minute, x]));
    const out = [];
    for (let i = 59; i >= 0; i--) {
      const minute = last - i * 60;
      const ended = {};
      for (const r of REASONS) ended[r] = 0;
      out.push(given.get(minute) || { minute: minute, created: 0, ended: ended, commits: 0, conflicts: 0, refused: {} });
    }
    return out;
  }

  function endedOf(x) {
    return REASONS.reduce((sum, r) => sum + (x.ended[r] || 0), 0);
  }

  function refusedOf(x) {
    return Object.keys(x.refused).reduce((sum, code) => sum + x.refused[code], 0);
  }

  function fillTable(minutes) {
    const body = $("minutes-table").tBodies[0];
    body.textContent = "";
    for (const x of minutes.slice().reverse()) {
      const row = body.insertRow();
      row.setAttribute("data-minute", String(x.minute));
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = clock(x.minute, true);
      row.append(head);
      const cells = [["created", x.created]]
        .concat(REASONS.map((r) => ["ended." + r, x.ended[r] || 0]))
        .concat([["commits", x.commits], ["conflicts", x.conflicts], ["refused", refusedOf(x)]]);
      for (const [field, value] of cells) {
        const cell = row.insertCell();
        cell.setAttribute("data-field", field);
        cell.setAttribute("data-value", String(value));
        cell.textContent = count(value);
      }
    }
  }

  // --- Charts -----------------------------------------------------------------------------------

  function svg(container, width, height) {
    container.textContent = "";
    const root = el("svg", { viewBox: "0 0 " + width + " " + height, "aria-hidden": "true", focusable: "false" });
    container.append(root);
    return root;
  }

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const key of Object.keys(attributes)) node.setAttribute(key, String(attributes[key]));
    if (parent) parent.append(node);
    return node;
  }

  function text(parent, x, y, content, anchor, className) {
    const node = el("text", { x: x, y: y, "text-anchor": anchor || "start" }, parent);
    if (className) node.setAttribute("class", className);
    node.textContent = content;
    return node;
  }

  function title(parent, content) {
    el("title", {}, parent).textContent = content;
  }

  function legend(list, entries) {
    list.textContent = "";
    for (const [key, label] of entries) {
      const item = document.createElement("li");
      const swatch = document.createElement("i");
      swatch.setAttribute("aria-hidden", "true");
      swatch.style.background = COLOURS[key];
      item.append(swatch, label);
      list.append(item);
    }
  }

  /** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least value. */
  function roundUp(value) {
    if (value <= 1) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const f of [1, 2, 2.5, 5, 10]) if (f * power >= value) return f * power;
    return 10 * power;
  }

  /** Created above the axis, ended below it by reason, one bar per minute. */
  function drawMinutes(container, minutes, hour) {
    const W = 760, H = 240, L = 44, R = 8, T = 8, B = 24;
    const half = (H - T - B) / 2;
    const mid = T + half;
    const top = roundUp(Math.max.apply(null, minutes.map((x) => Math.max(x.created, endedOf(x)))));
    const root = svg(container, W, H);
    for (const f of [0.5, 1]) {
      for (const sign of [1, -1]) {
        const y = mid - sign * f * half;
        el("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }, root);
        if (Number.isInteger(top * f)) text(root, L - 6, y + 4, count(top * f), "end");
      }
    }
    const describe = (x) => {
      const ended = endedOf(x);
      return clock(x.minute, true) + ": created " + x.created + ", ended " + ended +
        (ended ? " (" + REASONS.filter((r) => x.ended[r]).map((r) => r + " " + x.ended[r]).join(", ") + ")" : "");
    };
    const slot = eachMinute(root, minutes, { W, H, L, R, T, B }, describe, (x, bar, left, width) => {
      const up = (x.created / top) * half;
      if (up > 0) el("rect", { x: left, y: mid - up, width: width, height: up, fill: COLOURS.created }, bar);
      let y = mid;
      for (const r of REASONS) {
        const down = ((x.ended[r] || 0) / top) * half;
        if (down > 0) el("rect", { x: left, y: y, width: width, height: down, fill: COLOURS[r] }, bar);
        y += down;
      }
    });
    el("line", { x1: L, x2: W - R, y1: mid, y2: mid, class: "axis" }, root);
    text(root, L - 6, mid + 4, "0", "end");
    timeAxis(root, minutes, L, slot, H - 6);
    container.setAttribute("aria-label", "Sessions created and ended per minute over the last hour: " +
      hour.created + " created and " + hour.ended + " ended in all. The table below lists every minute.");
  }

  /** Commits, with conflicts on top, one bar per minute. */
  function drawCommits(container, minutes, hour) {
    const W = 760, H = 150, L = 44, R = 8, T = 8, B = 24;
    const height = H - T - B;
    const top = roundUp(Math.max.apply(null, minutes.map((x) => x.commits + x.conflicts)));
    const root = svg(container, W, H);
    for (const f of [0.5, 1]) {
      const y = T + height - f * height;
      el("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }, root);
      if (Number.isInteger(top * f)) text(root, L - 6, y + 4, count(top * f), "end");
    }
    const describe = (x) => clock(x.minute, true) + ": " + x.commits + " commits, " + x.conflicts + " conflicts";
    const slot = eachMinute(root, minutes, { W, H, L, R, T, B }, describe, (x, bar, left, width) => {
      let y = T + height;
      for (const [key, value] of [["commits", x.commits], ["conflicts", x.conflicts]]) {
        const h = (value / top) * height;
        if (h > 0) el("rect", { x: left, y: y - h, width: width, height: h, fill: COLOURS[key] }, bar);
        y -= h;
      }
    });
    el("line", { x1: L, x2: W - R, y1: T + height, y2: T + height, class: "axis" }, root);
    text(root, L - 6, T + height + 4, "0", "end");
    timeAxis(root, minutes, L, slot, H - 6);
    container.setAttribute("aria-label", "Commits and conflicts per minute over the last hour: " +
      hour.commits + " commits and " + hour.conflicts + " conflicts in all.");
  }

  /**
   * One bar group per minute of a chart framed by W, H and its margins: its title (\`describe\`),
   * a hover area over the chart's height, then \`draw(minute, group, left, width)\`. Answers the
   * width each minute takes.
   */
  function eachMinute(root, minutes, frame, describe, draw) {
    const slot = (frame.W - frame.L - frame.R) / minutes.length;
    const width = Math.max(2, slot * 0.72);
    minutes.forEach((x, i) => {
      const bar = el("g", { class: "bar" }, root);
      title(bar, describe(x));
      el("rect", { x: frame.L + i * slot, y: frame.T, width: slot, height: frame.H - frame.T - frame.B, fill: "#000", "fill-opacity": 0 }, bar);
      draw(x, bar, frame.L + i * slot + (slot - width) / 2, width);
    });
    return slot;
  }

  function timeAxis(root, minutes, left, slot, y) {
    const last = minutes.length - 1;
    for (const i of [0, 15, 30, 45, last]) {
      const x = i === last ? left + minutes.length * slot : left + i * slot + slot / 2;
      text(root, x, y, clock(minutes[i].minute, true), i === last ? "end" : "middle");
    }
  }

  /**
   * Horizontal bars, one per row: { label, value, colour, figures: [[name, value, text]], tail }.
   * A row without a value is drawn as missing.
   */
  function drawBars(container, rows) {
    const dense = rows.length > 16;
    const rowHeight = dense ? 16 : 26;
    const W = 560, L = 150, R = 150;
    const H = rows.length * rowHeight + 6;
    const top = roundUp(Math.max.apply(null, [1].concat(rows.map((r) => r.value || 0))));
    const root = svg(container, W, H);
    rows.forEach((row, i) => {
      const y = 3 + i * rowHeight;
      const g = el("g", { class: "bar" }, root);
      title(g, row.label + ": " + row.summary);
      const label = row.label.length > 22 ? row.label.slice(0, 21) + "…" : row.label;
      text(g, L - 8, y + rowHeight / 2 + 4, label, "end");
      if (row.value === null) {
        el("rect", { x: L, y: y + 3, width: W - L - R, height: rowHeight - 6, fill: "none", stroke: COLOURS.missing, "stroke-dasharray": "4 3" }, g);
        const t = text(g, L + 8, y + rowHeight / 2 + 4, "did not answer", "start", "value missing");
        t.setAttribute("data-missing", row.label);
        return;
      }
      const length = ((W - L - R) * row.value) / top;
      el("rect", { x: L, y: y + 3, width: Math.max(length, row.value > 0 ? 2 : 0), height: rowHeight - 6, fill: row.colour, rx: 2 }, g);
      const t = text(g, L + length + 6, y + rowHeight / 2 + 4, "", "start", "value");
      for (const [name, value, words] of row.figures) {
        const span = el("tspan", { "data-figure": name, "data-value": String(value) }, t);
        span.textContent = count(value);
        if (words) el("tspan", {}, t).textContent = words;
      }
    });
  }

  function drawShards(container, m) {
    const rows = m.perShard.map((s, i) => ({
      label: s.shard,
      value: s.answered ? s.live : null,
      colour: COLOURS.live,
      summary: s.answered ? s.live + " live, " + s.moving + " to move, sweep lag " + seconds(s.sweepLag) + ", outbox " + s.backlog : "did not answer",
      figures: [["perShard." + i + ".live", s.live, s.moving > 0 ? " live · " : " live"]]
        .concat(s.moving > 0 ? [["perShard." + i + ".moving", s.moving, " to move"]] : []),
    }));
    drawBars(container, rows);
    const answered = m.perShard.filter((s) => s.answered);
    container.setAttribute("aria-label", "Live sessions per shard: " + answered.map((s) => s.shard + " " + s.live).join(", ") +
      (m.shards.missing.length ? "; did not answer: " + m.shards.missing.join(", ") : ""));
  }

  function drawRefused(container, m, lastHourByCode) {
    const codes = Object.keys(m.totals.refused).sort((a, b) => m.totals.refused[b] - m.totals.refused[a] || a.localeCompare(b));
    $("no-refusals").hidden = codes.length > 0;
    container.hidden = codes.length === 0;
    const rows = codes.map((code) => ({
      label: code,
      value: m.totals.refused[code],
      colour: COLOURS.refused,
      summary: m.totals.refused[code] + " in all, " + (lastHourByCode[code] || 0) + " in the last hour",
      figures: [["totals.refused." + code, m.totals.refused[code], " · "], ["hour.refused." + code, lastHourByCode[code] || 0, " last hour"]],
    }));
    drawBars(container, rows);
    container.setAttribute("aria-label", "Refused calls by error code, since the app began: " +
      (codes.length ? codes.map((c) => c + " " + m.totals.refused[c]).join(", ") : "none"));
  }

  function drawMove(container, m) {
    const W = 560, H = 34;
    const inPlace = m.live === 0 ? 1 : Math.max(0, m.live - m.move.left) / m.live;
    const root = svg(container, W, H);
    el("rect", { x: 0, y: 4, width: W, height: 16, fill: "#e5e9ee", rx: 3 }, root);
    el("rect", { x: 0, y: 4, width: W * inPlace, height: 16, fill: COLOURS.live, rx: 3 }, root);
    const words = Math.floor(inPlace * 100) + "% of live sessions in place";
    text(root, 0, 32, words);
    container.setAttribute("aria-label", words);
  }

  function drawHistogram(container, h, colour, what) {
    const W = 440, H = 170, L = 4, R = 4, T = 16, B = 34;
    const height = H - T - B;
    const top = Math.max(1, Math.max.apply(null, h.counts));
    const slot = (W - L - R) / h.counts.length;
    const root = svg(container, W, H);
    const labels = h.counts.map((_, i) => (i < h.bounds.length ? "≤ " + short(h.bounds[i]) : "> " + short(h.bounds[h.bounds.length - 1])));
    h.counts.forEach((n, i) => {
      const g = el("g", { class: "bar" }, root);
      title(g, labels[i] + ": " + n + " sessions");
      const bar = (n / top) * height;
      el("rect", { x: L + i * slot + 3, y: T + height - bar, width: slot - 6, height: bar, fill: colour, rx: 2 }, g);
      if (n > 0) text(g, L + i * slot + slot / 2, T + height - bar - 4, count(n), "middle", "value");
      text(g, L + i * slot + slot / 2, T + height + 14, tick(h, i), "middle");
    });
    el("line", { x1: L, x2: W - R, y1: T + height, y2: T + height, class: "axis" }, root);
    text(root, W / 2, H - 3, "up to (seconds s, minutes m, hours h, days d)", "middle", "tick");
    container.setAttribute("aria-label", what + ", sessions per bucket: " + h.counts.map((n, i) => labels[i] + " " + n).join(", "));
  }

  // --- Formats ----------------------------------------------------------------------------------

  function count(n) {
    return Number(n).toLocaleString("en-US");
  }

  /** A duration, as a person reads it: 42 s, 3 min 5 s, 2 h 10 min, 1 d 4 h. */
  function seconds(s) {
    if (s === 0) return "0 s";
    if (s < 10) return Math.round(s * 10) / 10 + " s";
    if (s < 60) return Math.round(s) + " s";
    const parts = s < 3600 ? [60, "min", 1, "s"] : s < 86400 ? [3600, "h", 60, "min"] : [86400, "d", 3600, "h"];
    const whole = Math.floor(s / parts[0]);
    const rest = Math.floor((s % parts[0]) / parts[2]);
    return whole + " " + parts[1] + (rest ? " " + rest + " " + parts[3] : "");
  }

  /** A bucket's label under its bar: its upper bound, short (10s, 5m, 2h, 7d; the last: >7d). */
  function tick(h, i) {
    const bound = h.bounds[Math.min(i, h.bounds.length - 1)];
    return (i < h.bounds.length ? "" : ">") + short(bound).replace(" min", "m").replace(" ", "");
  }

  /** A bucket's bound: 10 s, 5 min, 2 h, 7 d. */
  function short(s) {
    if (s < 60) return s + " s";
    if (s < 3600) return s / 60 + " min";
    if (s < 86400) return s / 3600 + " h";
    return s / 86400 + " d";
  }

  /** A time of day (local): 14:05:09, or 14:05 for a minute. */
  function clock(at, minute) {
    const d = new Date(at * 1000);
    const two = (n) => String(n).padStart(2, "0");
    return two(d.getHours()) + ":" + two(d.getMinutes()) + (minute ? "" : ":" + two(d.getSeconds()));
  }

  function strong(content) {
    const node = document.createElement("strong");
    node.textContent = content;
    return node;
  }

  start();
})();
`;
