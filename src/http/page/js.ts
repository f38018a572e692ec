/**
 * The status page's script: vanilla JS, no framework. Renders only with textContent (never innerHTML), so
 * nothing an agent id or rules file contains can run as markup.
 */
export const PAGE_JS = `'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var tokenInput = $('token');
  tokenInput.value = sessionStorage.getItem('exas-token') || '';
  tokenInput.addEventListener('change', function () { sessionStorage.setItem('exas-token', tokenInput.value); refresh(); });

  function headers(extra) {
    var h = Object.assign({ accept: 'application/json' }, extra || {});
    if (tokenInput.value) h.authorization = 'Bearer ' + tokenInput.value;
    return h;
  }
  function api(path, init) {
    init = init || {};
    init.headers = headers(init.headers);
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: text }; }
        return { status: response.status, ok: response.ok, body: body };
      });
    });
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function state(s) { return s ? s.presence + ' / ' + s.routingStatus : '–'; }
  // Rule places are shown relative to the live rules file's folder: the absolute path in every cell is noise.
  var rulesDir = '';
  function displayFile(file) { return rulesDir !== '' && file.indexOf(rulesDir) === 0 ? file.slice(rulesDir.length) : file; }
  function ruleText(rule) { return rule ? rule.name + ' (' + displayFile(rule.file) + ':' + rule.line + ')' : 'no rule matched'; }
  function time(ms) { return ms ? new Date(ms).toLocaleTimeString() : '–'; }

  function renderSummary(summary) {
    ['in-sync', 'pending', 'unknown', 'error'].forEach(function (status) {
      $('count-' + status).textContent = summary.agents.bySyncStatus[status];
    });
    $('budget-in-use').textContent = summary.budget.inUse;
    $('budget-limit').textContent = summary.budget.limit;
    var pct = summary.budget.limit > 0 ? Math.min(100, Math.round(100 * summary.budget.inUse / summary.budget.limit)) : 0;
    $('budget-bar').style.width = pct + '%';
    $('users-pending').textContent = summary.writer.usersPending;
    $('oldest-age').textContent = Math.round(summary.writer.oldestPendingAgeSeconds);
    $('rules-file').textContent = summary.rules ? summary.rules.file : 'none loaded';
    var liveFile = summary.rules ? summary.rules.file : '';
    rulesDir = liveFile.slice(0, Math.max(liveFile.lastIndexOf('/'), liveFile.lastIndexOf('\\\\')) + 1);
    $('rules-hash').textContent = summary.rules ? summary.rules.hash.slice(0, 12) : '';
    var ready = summary.readiness.ready;
    var badge = $('ready-badge');
    badge.textContent = ready ? 'ready' : 'not ready';
    badge.className = 'badge ' + (ready ? 'ok' : 'bad');
    $('paused-badge').className = 'badge warn' + (summary.readiness.checks.paused ? '' : ' hidden');
    var checks = summary.readiness.checks, missing = [];
    if (!checks.rulesLoaded) missing.push('rules not loaded');
    if (!checks.statServerConnected) missing.push('Stat Server not connected');
    // An outage says nothing about the token: name only the outage then.
    if (!checks.gcReachable) missing.push('GC unreachable');
    else if (!checks.gcTokenValid) missing.push('GC token invalid');
    if (!checks.initialResyncDone && !(checks.lease && checks.lease.role === 'standby')) missing.push('initial resync not done');
    (checks.gcMissingPermissions || []).forEach(function (denied) {
      missing.push('GC refuses ' + denied.endpoint + ' (missing permission: ' + denied.permissions.join(', ') + ')');
    });
    // High availability: this instance's role and who holds the lease (absent without ha).
    var lease = checks.lease, leaseBadge = $('lease-badge');
    if (lease) {
      leaseBadge.textContent = lease.role + ' · lease holder: ' + (lease.holder === null ? 'none' : lease.holder) + (lease.reachable ? '' : ' (coordination service unreachable)');
      leaseBadge.className = 'badge ' + (lease.role === 'leader' ? 'ok' : lease.reachable ? 'warn' : 'bad');
    } else leaseBadge.className = 'badge hidden';
    $('not-ready').textContent = missing.join(' · ');
    var warnings = summary.warnings || [];
    $('warnings').textContent = warnings.join(' · ');
    $('warnings').className = 'badge warn' + (warnings.length > 0 ? '' : ' hidden');
    var body = $('changes').tBodies[0];
    body.replaceChildren();
    $('changes-count').textContent = '(' + summary.recentChanges.length + ')';
    var latest = summary.recentChanges[0];
    $('changes-latest').textContent = latest ? 'latest ' + time(latest.at) + ': ' + latest.agentId + ' → ' + state(latest.to) : '';
    if (summary.recentChanges.length === 0) {
      var empty = el('tr'); var cell = el('td', 'none yet', 'muted'); cell.colSpan = 5; empty.appendChild(cell); body.appendChild(empty);
    }
    summary.recentChanges.forEach(function (change) {
      var row = el('tr');
      row.appendChild(el('td', time(change.at)));
      row.appendChild(el('td', change.agentId));
      row.appendChild(el('td', state(change.from)));
      row.appendChild(el('td', state(change.to)));
      row.appendChild(el('td', ruleText(change.rule)));
      body.appendChild(row);
    });
    $('updated').textContent = new Date(summary.generatedAt).toLocaleTimeString();
  }
  function series(name, cls, samples, value) {
    return { name: name, cls: cls, points: samples.map(function (s) { return [s.at, value(s)]; }) };
  }
  function seconds(v) { return v === null || v === undefined ? '–' : v < 1 ? Math.round(v * 1000) + ' ms' : (Math.round(v * 10) / 10) + ' s'; }
  function whole(v) { return String(Math.round(v)); }
  function chart(id, options, now) {
    var figure = $(id);
    window.ExasCharts.draw(figure.querySelector('svg'), options);
    $(id + '-now').textContent = now;
  }
  function renderHistory(history) {
    var samples = history.samples;
    if (!window.ExasCharts || samples.length === 0) return;
    var from = samples[0].at, to = samples[samples.length - 1].at, last = samples[samples.length - 1];
    var clients = [];
    samples.forEach(function (s) { s.gcClients.forEach(function (c) { if (clients.indexOf(c.client) < 0) clients.push(c.client); }); });
    var gcSeries = clients.map(function (client, index) {
      return series(client, 'c' + (index % 4), samples, function (s) {
        var found = s.gcClients.filter(function (c) { return c.client === client; })[0];
        return found ? found.sent : null;
      });
    });
    gcSeries.push(Object.assign(series('budget', 'budget', samples, function (s) {
      return s.gcClients.length === 0 ? null : Math.max.apply(null, s.gcClients.map(function (c) { return c.limit; }));
    }), { dashed: true }));
    var sent = last.gcClients.reduce(function (sum, c) { return sum + c.sent; }, 0);
    var limit = last.gcClients.reduce(function (sum, c) { return sum + c.limit; }, 0);
    chart('chart-gc', { from: from, to: to, series: gcSeries, format: whole }, last.gcClients.length ? sent + ' / ' + limit : '–');
    chart('chart-latency', { from: from, to: to, format: seconds, series: [
      series('p50', 'c0', samples, function (s) { return s.latencyP50Seconds; }),
      series('p99', 'c1', samples, function (s) { return s.latencyP99Seconds; })
    ] }, 'p99 ' + seconds(last.latencyP99Seconds));
    chart('chart-pending', { from: from, to: to, format: whole, minMax: 2, series: [series('users pending', 'c0', samples, function (s) { return s.usersPending; })] }, String(last.usersPending));
    var rate = last.statServerEventsPerSecond;
    chart('chart-events', { from: from, to: to, format: whole, minMax: 2, series: [series('events/s', 'c0', samples, function (s) { return s.statServerEventsPerSecond; })] },
      rate === null ? '–' : rate >= 10 ? String(Math.round(rate)) : String(Math.round(rate * 10) / 10));
  }
  function refresh() {
    api('api/history').then(function (r) { if (r.ok) renderHistory(r.body); }).catch(function () {});
    api('api/summary').then(function (r) {
      if (r.ok) renderSummary(r.body);
      else $('not-ready').textContent = r.status === 401 ? 'enter the admin token to see the summary' : (r.body && r.body.error) || 'summary unavailable';
    }).catch(function () { $('not-ready').textContent = 'EXAS is not reachable'; });
  }

  function definitionList(pairs) {
    var dl = el('dl');
    pairs.forEach(function (pair) { dl.appendChild(el('dt', pair[0])); dl.appendChild(el('dd', pair[1])); });
    return dl;
  }
  $('agent-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var id = $('agent-id').value.trim();
    var out = $('agent-result');
    out.className = 'panel';
    out.replaceChildren(el('span', 'looking up…', 'muted'));
    api('agents/' + encodeURIComponent(id)).then(function (r) {
      out.replaceChildren();
      if (!r.ok) { out.appendChild(el('div', (r.body && r.body.error) || ('HTTP ' + r.status), 'error')); return; }
      var a = r.body, s = a.snapshot, d = a.decision;
      out.appendChild(definitionList([
        ['agent', a.agentId + (a.userId ? '  (GC user ' + a.userId + ')' : '')],
        ['sync status', a.syncStatus],
        ['Engage state', s ? s.state + ', call ' + s.callType + (s.reason ? ', reason ' + s.reason : '') : 'unknown' + (a.unknownReason ? ' (' + a.unknownReason + ')' : '')],
        ['decision', d ? (d.unmatched ? 'unmatched' : (d.presence + ' / ' + d.routingStatus)) : '–'],
        ['rule', d ? ruleText(d.rule) : '–'],
        ['desired in GC', state(a.desired)],
        ['acknowledged by GC', state(a.acknowledged)],
        ['last error', a.lastError ? a.lastError.message + (a.lastError.code ? ' [' + a.lastError.code + ']' : '') + ' at ' + time(a.lastError.at) : 'none'],
        ['last event', time(a.timestamps.lastEventAt)],
        ['last write', time(a.timestamps.lastWriteAt)],
        ['acknowledged at', time(a.timestamps.acknowledgedAt)]
      ]));
    });
  });

  function lookUp(agentId) {
    $('agent-id').value = agentId;
    $('agent-form').requestSubmit();
  }
  var listing = { offset: 0, pageSize: 50 };
  function listAgents() {
    var status = $('agent-status').value, q = $('agent-q').value.trim();
    var table = $('agent-table'), body = table.tBodies[0];
    var query = 'agents?offset=' + listing.offset + '&limit=' + listing.pageSize + (status ? '&status=' + encodeURIComponent(status) : '') + (q ? '&q=' + encodeURIComponent(q) : '');
    api(query).then(function (r) {
      body.replaceChildren();
      if (!r.ok) {
        $('agent-list-title').textContent = 'Agents: ' + ((r.body && r.body.error) || ('HTTP ' + r.status));
        return;
      }
      var page = r.body, first = page.total === 0 ? 0 : page.offset + 1, last = page.offset + page.items.length;
      $('agent-list-title').textContent = 'Agents' + (status ? ' ' + status : '') + (q ? ' matching "' + q + '"' : '') + ': ' + first + '–' + last + ' of ' + page.total;
      $('agent-range').textContent = first + '–' + last + ' of ' + page.total;
      $('agent-prev').disabled = page.offset === 0;
      $('agent-next').disabled = last >= page.total;
      table.className = '';
      $('agent-pager').className = 'row' + (page.total > page.items.length ? '' : ' hidden');
      page.items.forEach(function (a) {
        var row = el('tr');
        var idCell = el('td');
        var link = el('button', a.agentId, 'link');
        link.type = 'button';
        link.addEventListener('click', function () { lookUp(a.agentId); });
        idCell.appendChild(link);
        row.appendChild(idCell);
        var s = a.snapshot;
        row.appendChild(el('td', s ? s.state + (s.callType !== 'None' ? ', ' + s.callType : '') + (s.reason ? ', ' + s.reason : '') : 'unknown'));
        row.appendChild(el('td', state(a.desired)));
        row.appendChild(el('td', state(a.acknowledged)));
        row.appendChild(el('td', a.lastError ? a.lastError.message : ''));
        body.appendChild(row);
      });
    });
  }
  $('agent-filter').addEventListener('submit', function (event) { event.preventDefault(); listing.offset = 0; listAgents(); });
  $('agent-prev').addEventListener('click', function () { listing.offset = Math.max(0, listing.offset - listing.pageSize); listAgents(); });
  $('agent-next').addEventListener('click', function () { listing.offset += listing.pageSize; listAgents(); });
  Array.prototype.forEach.call(document.querySelectorAll('button.card[data-status]'), function (card) {
    card.addEventListener('click', function () {
      $('agent-status').value = card.getAttribute('data-status');
      $('agent-q').value = '';
      listing.offset = 0;
      listAgents();
    });
  });

  $('dry-events').value = JSON.stringify({ events: [
    { agentId: '1001', state: 'Ready', callType: 'None' },
    { agentId: '1001', state: 'Ready', callType: 'Inbound' },
    { agentId: '1001', state: 'AfterCallWork', callType: 'None' },
    { agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break' }
  ] }, null, 2);

  // The rules box becomes a CodeMirror editor (editor.js) that shows the linter's findings where they are; the
  // textarea stays the fallback when the editor did not load.
  var editor = null;
  function lintRules(text) {
    var note = $('dry-rules-status');
    if (text.trim() === '') { note.textContent = ''; return Promise.resolve([]); }
    return api('rules/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rules: text }) }).then(function (r) {
      if (!r.ok) { note.textContent = 'not checked: ' + ((r.body && r.body.error) || ('HTTP ' + r.status)); return []; }
      var errors = r.body.findings.filter(function (f) { return f.severity === 'error'; }).length, warnings = r.body.findings.length - errors;
      note.textContent = errors + warnings === 0 ? 'no problems found' : errors + ' error' + (errors === 1 ? '' : 's') + ', ' + warnings + ' warning' + (warnings === 1 ? '' : 's');
      return r.body.findings;
    }).catch(function () { note.textContent = 'not checked: EXAS is not reachable'; return []; });
  }
  if (window.ExasEditor) {
    var textarea = $('dry-rules'), holder = $('dry-rules-editor');
    editor = window.ExasEditor.create(holder, {
      doc: textarea.value,
      placeholder: 'rules:\\n  - name: …',
      lint: lintRules,
      onChange: function (text) { textarea.value = text; }
    });
    textarea.className = 'hidden';
    holder.className = 'editor';
  }
  function rulesText() { return editor ? editor.text() : $('dry-rules').value; }

  $('dry-run').addEventListener('click', function () {
    var errorBox = $('dry-error'), table = $('dry-results'), impactBox = $('dry-impact');
    errorBox.className = 'error hidden'; table.className = 'hidden'; impactBox.className = 'panel hidden';
    var request;
    try { request = JSON.parse($('dry-events').value || '{}'); } catch (e) {
      errorBox.textContent = 'events are not valid JSON: ' + e.message; errorBox.className = 'error'; return;
    }
    var yaml = rulesText();
    if (yaml.trim() !== '') request.rules = yaml;
    if ($('dry-live').checked) request.live = true;
    request.explain = true;
    api('dry-run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) }).then(function (r) {
      if (!r.ok) {
        var lines = [(r.body && r.body.error) || ('HTTP ' + r.status)];
        (r.body && r.body.details || []).forEach(function (d) { lines.push('line ' + d.line + ', column ' + d.column + ': ' + d.message); });
        errorBox.textContent = lines.join('\\n'); errorBox.className = 'error'; return;
      }
      var sourceLines = yaml.split('\\n');
      var body = table.tBodies[0];
      body.replaceChildren();
      r.body.results.forEach(function (result, index) {
        var row = el('tr');
        row.appendChild(el('td', index + 1));
        row.appendChild(el('td', result.agentId));
        row.appendChild(el('td', result.presence === null ? (result.unmatched ? '—' : 'keep (unknown before)') : result.presence, result.unmatched ? 'unmatched' : ''));
        row.appendChild(el('td', result.routingStatus === null ? '—' : result.routingStatus, result.unmatched ? 'unmatched' : ''));
        var ruleCell = el('td', ruleText(result.rule), result.unmatched ? 'unmatched' : '');
        if (result.rule && yaml.trim() !== '' && sourceLines[result.rule.line - 1] !== undefined) {
          ruleCell.appendChild(el('code', sourceLines[result.rule.line - 1].trim(), 'rule-src'));
        }
        if (result.explanation) {
          var why = el('details', null, 'why');
          why.appendChild(el('summary', 'why'));
          why.appendChild(el('pre', result.explanation));
          ruleCell.appendChild(why);
        }
        row.appendChild(ruleCell);
        var requests = el('td');
        if (result.gcRequests) {
          if (result.gcRequests.length === 0) requests.appendChild(el('span', 'none (already so in GC)', 'muted'));
          result.gcRequests.forEach(function (req) { requests.appendChild(el('pre', req.method + ' ' + req.path + ' ' + JSON.stringify(req.body))); });
        } else requests.appendChild(el('span', 'no live connector', 'muted'));
        row.appendChild(requests);
        body.appendChild(row);
      });
      table.className = '';
      var impact = r.body.impact;
      if (impact) {
        impactBox.replaceChildren(el('strong', impact.changing + ' of ' + impact.agents + ' live agents would change'),
          el('div', impact.unchanged + ' unchanged, ' + impact.unmatched + ' unmatched', 'muted small'));
        impact.transitions.forEach(function (t) { impactBox.appendChild(el('div', t.count + ' × ' + state(t.from) + ' → ' + state(t.to))); });
        impactBox.className = 'panel';
      }
    });
  });

  refresh();
  setInterval(refresh, 5000);
})();
`;
