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
  function ruleText(rule) { return rule ? rule.name + ' (' + rule.file + ':' + rule.line + ')' : 'no rule matched'; }
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
    $('rules-hash').textContent = summary.rules ? summary.rules.hash.slice(0, 12) : '';
    var ready = summary.readiness.ready;
    var badge = $('ready-badge');
    badge.textContent = ready ? 'ready' : 'not ready';
    badge.className = 'badge ' + (ready ? 'ok' : 'bad');
    $('paused-badge').className = 'badge warn' + (summary.readiness.checks.paused ? '' : ' hidden');
    var checks = summary.readiness.checks, missing = [];
    if (!checks.rulesLoaded) missing.push('rules not loaded');
    if (!checks.statServerConnected) missing.push('Stat Server not connected');
    if (!checks.gcTokenValid) missing.push('no valid GC token');
    if (!checks.initialResyncDone && !(checks.lease && checks.lease.role === 'standby')) missing.push('initial resync not done');
    // High availability: this instance's role and who holds the lease (absent without ha).
    var lease = checks.lease, leaseBadge = $('lease-badge');
    if (lease) {
      leaseBadge.textContent = lease.role + ' · lease holder: ' + (lease.holder === null ? 'none' : lease.holder) + (lease.reachable ? '' : ' (coordination service unreachable)');
      leaseBadge.className = 'badge ' + (lease.role === 'leader' ? 'ok' : lease.reachable ? 'warn' : 'bad');
    } else leaseBadge.className = 'badge hidden';
    $('not-ready').textContent = missing.join(' · ');
    var body = $('changes').tBodies[0];
    body.replaceChildren();
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
  function refresh() {
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
  Array.prototype.forEach.call(document.querySelectorAll('button.card[data-status]'), function (card) {
    card.addEventListener('click', function () {
      var status = card.getAttribute('data-status');
      var section = $('agent-list'), body = section.querySelector('tbody');
      api('agents?status=' + encodeURIComponent(status) + '&limit=100').then(function (r) {
        section.className = '';
        body.replaceChildren();
        if (!r.ok) {
          $('agent-list-title').textContent = 'Agents: ' + ((r.body && r.body.error) || ('HTTP ' + r.status));
          return;
        }
        $('agent-list-title').textContent = 'Agents ' + status + ' (' + r.body.items.length + ' of ' + r.body.total + ')';
        r.body.items.forEach(function (a) {
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
    });
  });

  $('dry-events').value = JSON.stringify({ events: [
    { agentId: '1001', state: 'Ready', callType: 'None' },
    { agentId: '1001', state: 'Ready', callType: 'Inbound' },
    { agentId: '1001', state: 'AfterCallWork', callType: 'None' },
    { agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break' }
  ] }, null, 2);

  $('dry-run').addEventListener('click', function () {
    var errorBox = $('dry-error'), table = $('dry-results'), impactBox = $('dry-impact');
    errorBox.className = 'error hidden'; table.className = 'hidden'; impactBox.className = 'panel hidden';
    var request;
    try { request = JSON.parse($('dry-events').value || '{}'); } catch (e) {
      errorBox.textContent = 'events are not valid JSON: ' + e.message; errorBox.className = 'error'; return;
    }
    var yaml = $('dry-rules').value;
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
