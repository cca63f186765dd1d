/**
 * The dashboard's style: light, with text contrast of at least 4.5:1 (WCAG AA) and chart colours
 * from the Okabe–Ito palette, which stays distinct for colour-blind readers.
 */
export const DASHBOARD_STYLE = `
:root {
  --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --paper: #ffffff; --ground: #f3f5f7;
  --accent: #0a58ca; --bad: #b42318; --bad-ground: #fef3f2;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--ground); font-size: 15px; line-height: 1.45;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0 auto; max-width: 1200px; padding: 16px 20px 40px; }
h1 { font-size: 20px; margin: 0; font-weight: 650; }
h1 span { color: var(--muted); font-weight: 400; }
h2 { font-size: 15px; margin: 0 0 10px; font-weight: 600; }
code { font-size: 13px; background: var(--ground); padding: 1px 4px; border-radius: 4px; }
.top { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; margin-bottom: 14px; }
.status { margin: 0; color: var(--muted); flex: 1; font-size: 14px; }
.status strong { color: var(--ink); }
button {
  font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer;
}
#disconnect, button.quiet { background: var(--paper); color: var(--accent); }
button:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid #0a58ca66; outline-offset: 2px; }
.problem {
  border: 1px solid var(--bad); background: var(--bad-ground); color: var(--bad);
  padding: 10px 14px; border-radius: 8px; margin-bottom: 14px;
}
.notice {
  border: 1px solid #9a6700; background: #fff8c5; color: #4d2d00;
  padding: 10px 14px; border-radius: 8px; margin-bottom: 14px;
}
.connect {
  max-width: 460px; background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 20px; display: grid; gap: 6px;
}
.connect p { margin: 0 0 8px; color: var(--muted); }
.connect input { font: inherit; padding: 7px 9px; border: 1px solid #8c959f; border-radius: 6px; margin-bottom: 6px; }
.connect label { font-weight: 600; }
.connect .actions { display: flex; gap: 8px; margin-top: 6px; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
main > section:first-child, main > section.wide { grid-column: 1 / -1; }
@media (max-width: 800px) { main { grid-template-columns: minmax(0, 1fr); } }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 0; }
.figures.small { grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); margin-bottom: 8px; }
.figure { border-left: 3px solid var(--line); padding: 2px 10px; }
.figure dt { color: var(--muted); font-size: 13px; }
.figure dd { margin: 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.figures.small .figure dd { font-size: 17px; }
.figure.big { border-left-color: var(--accent); grid-row: span 2; }
.figure.big dd { font-size: 44px; line-height: 1.1; color: var(--accent); }
.note { color: var(--muted); margin: 8px 0 4px; font-size: 14px; }
.note [data-figure] { color: var(--ink); font-weight: 600; }
.missing { color: var(--bad); }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; margin: 0 0 6px; font-size: 13px; color: var(--muted); }
.legend i { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.chart svg { display: block; width: 100%; height: auto; font-size: 11px; font-family: inherit; }
.chart text { fill: var(--muted); }
.chart text.value { fill: var(--ink); font-weight: 600; }
.chart text.tick { font-size: 10px; }
.chart text.value.missing { fill: var(--bad); }
.chart .grid { stroke: #e5e9ee; }
.chart .axis { stroke: #8c959f; }
.chart g.bar:hover rect, .chart g.bar:hover { opacity: 0.8; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--accent); font-size: 14px; }
.scroll { max-height: 320px; overflow: auto; margin-top: 6px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; width: 100%; }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eaeef2; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { position: sticky; top: 0; background: var(--paper); }
`;
