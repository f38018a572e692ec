/** The status page's HTML: a static shell that page.js fills from /api/summary; no inline script or style (CSP). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EXAS status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="page.css">
<script src="charts.js" defer></script>
<script src="editor.js" defer></script>
<script src="page.js" defer></script>
</head>
<body>
<header>
  <h1>EXAS <span class="sub">agent state sync</span></h1>
  <div class="badges">
    <span id="ready-badge" class="badge">…</span>
    <span id="paused-badge" class="badge hidden">paused</span>
    <span id="lease-badge" class="badge hidden"></span>
    <span id="not-ready" class="muted"></span>
    <span id="warnings" class="badge warn hidden" role="alert"></span>
  </div>
  <label class="token">admin token <input id="token" type="password" autocomplete="off" placeholder="(none)"></label>
</header>
<main>
  <section class="cards" aria-label="sync status">
    <button type="button" class="card status-in-sync" data-status="in-sync" title="list these agents"><div class="label">in sync</div><div class="value" id="count-in-sync">–</div></button>
    <button type="button" class="card status-pending" data-status="pending" title="list these agents"><div class="label">pending</div><div class="value" id="count-pending">–</div></button>
    <button type="button" class="card status-unknown" data-status="unknown" title="list these agents"><div class="label">unknown</div><div class="value" id="count-unknown">–</div></button>
    <button type="button" class="card status-error" data-status="error" title="list these agents"><div class="label">error</div><div class="value" id="count-error">–</div></button>
    <div class="card wide" title="requests sent to GC in the last 60 s, which is what GC counts against the budget">
      <div class="label">GC requests, last 60 s</div>
      <div class="value"><span id="budget-in-use">–</span> <span class="muted">/ <span id="budget-limit">–</span> budget per min</span></div>
      <div class="bar"><div id="budget-bar"></div></div>
    </div>
    <div class="card wide">
      <div class="label">writer queue</div>
      <div class="value"><span id="users-pending">–</span> <span class="muted">users, oldest <span id="oldest-age">–</span> s</span></div>
      <div class="muted small">rules <span id="rules-file">–</span> <code id="rules-hash"></code></div>
    </div>
  </section>

  <section class="charts" aria-label="the last 15 minutes">
    <figure class="chart" id="chart-gc">
      <figcaption>GC requests per minute <span class="legend"><span class="key c0">sent</span> <span class="key budget">budget</span></span> <span class="now" id="chart-gc-now"></span></figcaption>
      <svg role="img" aria-label="GC requests per minute per client against the budget"></svg>
    </figure>
    <figure class="chart" id="chart-latency">
      <figcaption>Event → GC latency <span class="legend"><span class="key c0">p50</span> <span class="key c1">p99</span></span> <span class="now" id="chart-latency-now"></span></figcaption>
      <svg role="img" aria-label="event to GC latency p50 and p99"></svg>
    </figure>
    <figure class="chart" id="chart-pending">
      <figcaption>Users pending <span class="now" id="chart-pending-now"></span></figcaption>
      <svg role="img" aria-label="users pending"></svg>
    </figure>
    <figure class="chart" id="chart-events">
      <figcaption>Stat Server events/s <span class="now" id="chart-events-now"></span></figcaption>
      <svg role="img" aria-label="Stat Server events per second"></svg>
    </figure>
  </section>

  <section id="agent-list">
    <div class="row between">
      <h2 id="agent-list-title">Agents</h2>
      <form id="agent-filter" class="inline">
        <select id="agent-status" aria-label="sync status">
          <option value="">any status</option><option value="in-sync">in sync</option><option value="pending">pending</option><option value="unknown">unknown</option><option value="error">error</option>
        </select>
        <input id="agent-q" type="search" placeholder="agent id contains" aria-label="agent id contains">
        <button type="submit">List</button>
      </form>
    </div>
    <table id="agent-table" class="hidden">
      <thead><tr><th>agent</th><th>Engage state</th><th>desired in GC</th><th>acknowledged</th><th>last error</th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="agent-pager" class="row hidden">
      <button id="agent-prev" type="button">← previous</button>
      <span id="agent-range" class="muted"></span>
      <button id="agent-next" type="button">next →</button>
    </div>
  </section>

  <section>
    <details id="changes-panel">
      <summary><h2>Recent changes <span id="changes-count" class="muted small"></span></h2> <span id="changes-latest" class="muted small"></span></summary>
      <table id="changes">
        <thead><tr><th>time</th><th>agent</th><th>from</th><th>to</th><th>rule</th></tr></thead>
        <tbody><tr><td colspan="5" class="muted">none yet</td></tr></tbody>
      </table>
    </details>
  </section>

  <section>
    <h2>Agent</h2>
    <form id="agent-form" class="row">
      <input id="agent-id" placeholder="Engage agent id" required>
      <button type="submit">Look up</button>
    </form>
    <div id="agent-result" class="panel hidden"></div>
  </section>

  <section>
    <h2>Dry-run playground</h2>
    <p class="muted small">Paste a candidate rules file (leave empty to use the live rules) and Engage events; nothing is sent to Genesys Cloud.</p>
    <div class="grid2">
      <div class="field"><span id="dry-rules-label">Rules (YAML, optional)</span><textarea id="dry-rules" rows="14" spellcheck="false" aria-labelledby="dry-rules-label" placeholder="rules:&#10;  - name: …"></textarea><div id="dry-rules-editor" class="editor hidden"></div><div id="dry-rules-status" class="muted small"></div></div>
      <label>Events (JSON)<textarea id="dry-events" rows="14" spellcheck="false"></textarea></label>
    </div>
    <div class="row">
      <button id="dry-run" type="button">Run dry run</button>
      <label class="inline"><input id="dry-live" type="checkbox"> impact on live agents</label>
    </div>
    <div id="dry-error" class="error hidden"></div>
    <table id="dry-results" class="hidden">
      <thead><tr><th>#</th><th>agent</th><th>presence</th><th>routing status</th><th>rule (explain)</th><th>GC requests</th></tr></thead>
      <tbody></tbody>
    </table>
    <div id="dry-impact" class="panel hidden"></div>
  </section>
</main>
<footer class="muted small">Updated <span id="updated">never</span> · <a href="metrics">metrics</a> · <a href="readyz">readyz</a></footer>
</body>
</html>
`;
