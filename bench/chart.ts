// The bench's picture, made from bench/results/latest.json: each ratio goal's median (with its
// interquartile range and 95 % interval) against its goal, and the sweep's cost against the
// number of stored sessions. `npm run bench:chart` redraws it from the file; the bench writes
// it after every run.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Spread {
  median: number;
  q1: number;
  q3: number;
  ci95: number;
  n: number;
}

/** The parts of latest.json the chart reads. */
export interface ChartInput {
  date: string;
  mode: string;
  source: { commit: string };
  metrics: Record<string, number>;
  spreads: Record<string, Spread>;
  goals: { metric: string; goal: string; verdict: string }[];
  noise?: { steady: boolean };
}

const RATIO_GOALS: { metric: string; label: string; goal: number }[] = [
  { metric: "get_vs_noop_rpc_ratio", label: "get ÷ ping (RPC)", goal: 0.85 },
  { metric: "shard_routing_overhead_ratio", label: "routed ÷ fixed stubs", goal: 0.95 },
  {
    metric: "commit_vs_one_row_write_ratio",
    label: "commit ÷ one-row write, 1 in flight",
    goal: 0.85,
  },
  {
    metric: "commit_c32_vs_one_row_write_c32_ratio",
    label: "commit ÷ one-row write, 32 in flight",
    goal: 2,
  },
  { metric: "http_read_vs_do_ping_ratio", label: "HTTP read ÷ its floor", goal: 0.9 },
  { metric: "diag_http_auth_vs_plain_ratio", label: "HTTP auth ÷ constant answer", goal: 0.97 },
  {
    metric: "http_read_vs_express_redis_ratio",
    label: "HTTP read ÷ express + Redis",
    goal: 1.3,
  },
];

const esc = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

/** The chart as SVG text. */
export function chartSvg(input: ChartInput): string {
  const width = 860;
  const left = 250;
  const plotWidth = 460;
  const rowHeight = 34;
  const top = 72;
  const highest = Math.max(
    2.5,
    ...RATIO_GOALS.map((g) => input.spreads[g.metric]?.q3 ?? 0).filter(Number.isFinite),
    ...RATIO_GOALS.map((g) => {
      const s = input.spreads[g.metric];
      return s === undefined ? 0 : s.median + s.ci95;
    }).filter(Number.isFinite),
  );
  const maxValue = Math.ceil(highest * 2) / 2;
  const step = maxValue <= 3 ? 0.5 : 1;
  const x = (v: number) => left + (Math.min(Math.max(v, 0), maxValue) / maxValue) * plotWidth;
  const parts: string[] = [];
  const ratioBottom = top + RATIO_GOALS.length * rowHeight;
  parts.push(
    `<text x="16" y="24" font-size="15" font-weight="bold">edge sessions bench: ratios against their goals</text>`,
    `<text x="16" y="42" font-size="11" fill="#555">${esc(`${input.mode} run, ${input.date.slice(0, 16).replace("T", " ")} UTC, commit ${input.source.commit.slice(0, 7)}${input.noise?.steady === false ? " (too noisy to judge some goals)" : ""}`)}</text>`,
    `<text x="16" y="56" font-size="11" fill="#555">bar: interquartile range of the slice-by-slice ratios; dot: median; line through it: the median's 95 % interval; red mark: the goal</text>`,
  );
  for (let t = 0; t <= maxValue + 1e-9; t += step) {
    parts.push(
      `<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${ratioBottom}" stroke="#ddd"/>`,
      `<text x="${x(t)}" y="${ratioBottom + 14}" font-size="10" text-anchor="middle" fill="#555">${t.toFixed(1)}</text>`,
    );
  }
  RATIO_GOALS.forEach((g, i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    const s = input.spreads[g.metric];
    const verdict = input.goals.find((r) => r.metric === g.metric)?.verdict ?? "not run";
    const color = verdict === "met" ? "#2a7d2a" : verdict === "missed" ? "#b03030" : "#a07000";
    parts.push(`<text x="16" y="${y + 4}" font-size="12">${esc(g.label)}</text>`);
    parts.push(
      `<line x1="${x(g.goal)}" y1="${y - 12}" x2="${x(g.goal)}" y2="${y + 12}" stroke="#d00" stroke-width="2"/>`,
    );
    if (s !== undefined && Number.isFinite(s.median)) {
      parts.push(
        `<rect x="${x(s.q1)}" y="${y - 7}" width="${Math.max(1, x(s.q3) - x(s.q1))}" height="14" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`,
        `<line x1="${x(s.median - s.ci95)}" y1="${y}" x2="${x(s.median + s.ci95)}" y2="${y}" stroke="${color}" stroke-width="2"/>`,
        `<circle cx="${x(s.median)}" cy="${y}" r="4" fill="${color}"/>`,
      );
    }
    const value = s === undefined ? "–" : fixed(s.median);
    parts.push(
      `<text x="${left + plotWidth + 12}" y="${y + 4}" font-size="12" fill="${color}">${value} ${esc(verdict)}</text>`,
    );
  });

  // The sweep: rows read per ended session and sessions ended per second, by stored sessions.
  const sizes = ["1k", "10k", "100k"].filter(
    (l) => input.metrics[`sweep_rows_read_per_expired_${l}`] !== undefined,
  );
  const sweepTop = ratioBottom + 60;
  const sweepHeight = 130;
  parts.push(
    `<text x="16" y="${sweepTop - 22}" font-size="15" font-weight="bold">the sweep: cost per ended session against stored sessions (10 % expired)</text>`,
  );
  if (sizes.length > 0) {
    const colWidth = plotWidth / sizes.length;
    const maxRows = Math.max(
      6,
      ...sizes.map((l) => input.metrics[`sweep_rows_read_per_expired_${l}`] ?? 0),
    );
    const maxRate = Math.max(
      1,
      ...sizes.map((l) => input.metrics[`sweep_expired_per_s_${l}`] ?? 0),
    );
    parts.push(
      `<text x="16" y="${sweepTop + 30}" font-size="12" fill="#2455a4">rows read per ended session</text>`,
      `<text x="16" y="${sweepTop + 50}" font-size="12" fill="#2455a4">(bars, scale 0 – ${fixed(maxRows, 0)})</text>`,
      `<text x="16" y="${sweepTop + 80}" font-size="12" fill="#666">sessions ended per second</text>`,
      `<text x="16" y="${sweepTop + 100}" font-size="12" fill="#666">(dots, scale 0 – ${Math.round(maxRate).toLocaleString("en")})</text>`,
    );
    sizes.forEach((label, i) => {
      const cx = left + colWidth * i + colWidth / 2;
      const rows = input.metrics[`sweep_rows_read_per_expired_${label}`] ?? 0;
      const rate = input.metrics[`sweep_expired_per_s_${label}`] ?? 0;
      const h = (rows / maxRows) * sweepHeight;
      const base = sweepTop + sweepHeight;
      parts.push(
        `<rect x="${cx - 28}" y="${base - h}" width="56" height="${h}" fill="#2455a4" fill-opacity="0.7"/>`,
        `<text x="${cx}" y="${base - h - 4}" font-size="11" text-anchor="middle">${fixed(rows)}</text>`,
        `<circle cx="${cx + 40}" cy="${base - (rate / maxRate) * sweepHeight}" r="4" fill="#666"/>`,
        `<text x="${cx + 48}" y="${base - (rate / maxRate) * sweepHeight + 4}" font-size="10" fill="#666">${Math.round(rate).toLocaleString("en")}/s</text>`,
        `<text x="${cx}" y="${base + 16}" font-size="12" text-anchor="middle">${label} stored</text>`,
      );
    });
    parts.push(
      `<line x1="${left}" y1="${sweepTop + sweepHeight}" x2="${left + plotWidth}" y2="${sweepTop + sweepHeight}" stroke="#999"/>`,
    );
  }
  const height = sweepTop + sweepHeight + 36;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join("\n")}
</svg>
`;
}

export function writeChart(input: ChartInput, path: string): void {
  writeFileSync(path, chartSvg(input));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = join(dirname(fileURLToPath(import.meta.url)), "results");
  const input = JSON.parse(readFileSync(join(results, "latest.json"), "utf8")) as ChartInput;
  writeChart(input, join(results, "chart.svg"));
  console.log(`wrote ${join("bench/results", "chart.svg")} from latest.json`);
}
