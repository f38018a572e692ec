/** The status page's stylesheet. */
export const PAGE_CSS = `
:root { --fg: #1d2430; --muted: #6b7380; --line: #dde2ea; --bg: #f6f8fb; --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; --unk: #6b46c1; --accent: #2b6cb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
h1 { font-size: 20px; margin: 0; } h1 .sub { font-weight: 400; color: var(--muted); font-size: 14px; }
h2 { font-size: 16px; margin: 0 0 8px; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px; display: grid; gap: 20px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; }
section.cards { display: grid; grid-template-columns: repeat(4, 1fr) 2fr 2fr; gap: 12px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; border-top: 4px solid var(--line); }
button.card { text-align: left; font: inherit; color: inherit; cursor: pointer; }
button.card:hover { filter: none; background: #fbfcfe; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
.link { background: none; color: var(--accent); padding: 0; text-decoration: underline; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 26px; font-weight: 600; }
.card .value .muted { font-size: 13px; font-weight: 400; }
.status-in-sync { border-top-color: var(--ok); } .status-pending { border-top-color: var(--warn); }
.status-unknown { border-top-color: var(--unk); } .status-error { border-top-color: var(--bad); }
.bar { height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; margin-top: 6px; }
.bar div { height: 100%; width: 0; background: var(--accent); transition: width .3s; }
.badges { display: flex; gap: 8px; align-items: center; flex: 1; }
.badge { white-space: nowrap; padding: 2px 10px; border-radius: 12px; font-weight: 600; font-size: 12px; background: var(--line); }
.badge.ok { background: #d8f3e3; color: var(--ok); } .badge.bad { background: #fde2e2; color: var(--bad); } .badge.warn { background: #fdf0d5; color: var(--warn); }
.token { color: var(--muted); font-size: 12px; } .token input { width: 140px; }
.muted { color: var(--muted); } .small { font-size: 12px; } .hidden { display: none !important; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
code, textarea, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
textarea { width: 100%; border: 1px solid var(--line); border-radius: 6px; padding: 8px; resize: vertical; }
input { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; font: inherit; }
button { background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 7px 14px; font: inherit; cursor: pointer; }
button:hover { filter: brightness(1.1); }
.row { display: flex; gap: 12px; align-items: center; margin: 8px 0; }
.inline { display: flex; gap: 6px; align-items: center; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.grid2 label { display: grid; gap: 4px; color: var(--muted); font-size: 12px; align-content: start; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: 12px; background: var(--bg); margin-top: 8px; }
.panel dl { display: grid; grid-template-columns: 180px 1fr; gap: 4px 12px; margin: 0; }
.panel dt { color: var(--muted); }
.panel dd { margin: 0; }
.error { color: var(--bad); background: #fde2e2; border-radius: 6px; padding: 8px 12px; margin: 8px 0; white-space: pre-wrap; }
.rule-src { display: block; color: var(--muted); }
.unmatched { color: var(--warn); font-weight: 600; }
details.why summary { cursor: pointer; color: var(--accent); font-size: 12px; }
details.why pre { word-break: normal; overflow-wrap: break-word; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 6px; margin-top: 4px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
footer { text-align: center; padding: 12px; }
.row.between { justify-content: space-between; }
section.charts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; background: none; border: 0; padding: 0; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; }
figure.chart figcaption { font-size: 12px; color: var(--muted); display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
figure.chart figcaption .now { margin-left: auto; color: var(--fg); font-weight: 600; }
figure.chart svg { display: block; width: 100%; height: auto; }
.chart .axis text { font-size: 9px; fill: var(--muted); }
.chart .axis .grid { stroke: var(--line); stroke-width: 1; }
.chart .series polyline { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
.chart .series.c0 polyline, .chart .series.c0 circle { stroke: var(--accent); fill: var(--accent); } .chart .series.c0 polyline { fill: none; }
.chart .series.c1 polyline, .chart .series.c1 circle { stroke: #dd6b20; fill: #dd6b20; } .chart .series.c1 polyline { fill: none; }
.chart .series.c2 polyline, .chart .series.c2 circle { stroke: #2f855a; fill: #2f855a; } .chart .series.c2 polyline { fill: none; }
.chart .series.c3 polyline, .chart .series.c3 circle { stroke: #805ad5; fill: #805ad5; } .chart .series.c3 polyline { fill: none; }
.chart .series.budget polyline { stroke: var(--bad); stroke-dasharray: 4 3; stroke-width: 1.2; fill: none; }
.legend .key::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 3px; vertical-align: middle; background: var(--accent); }
.legend .key.c1::before { background: #dd6b20; } .legend .key.budget::before { background: var(--bad); }
details#changes-panel summary { cursor: pointer; list-style: revert; }
details#changes-panel summary h2 { display: inline; margin: 0; }
details#changes-panel[open] summary { margin-bottom: 8px; }
.field { display: grid; gap: 4px; color: var(--muted); font-size: 12px; align-content: start; }
.editor { border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--fg); font-size: 12px; }
/* The editor's own look is set inside its shadow root (src/http/page/editor/main.ts). */
@media (max-width: 900px) { section.cards, section.charts { grid-template-columns: repeat(2, 1fr); } .grid2 { grid-template-columns: 1fr; } }
`;
