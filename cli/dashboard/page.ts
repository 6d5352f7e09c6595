// The dashboard page: one HTML document with its CSS and script inline (no build step, nothing loaded
// from elsewhere). It follows /events (Server-Sent Events) and redraws what changed: one ring per
// organisation with its nodes placed by id, a card per node (health, router state, leaf set, actor
// tree with live states, replica health, inbox drops, restarts, hosted users), and the scenario runs.
// Elements carry data-* attributes (data-node-id, data-health, data-state, data-scenario-n) so tests
// and scripts can read the page as well as people.
//
// The script is plain ES2020 in a String.raw literal: it must not contain a backtick or a dollar-brace.
import type { DashboardSnapshot } from './state';

/**
 * The page, with the dashboard's state as of this request inside it: the browser draws every node at
 * once, before /events has said anything (a quiet lab sends nothing for a while).
 */
export function dashboardPage(initial?: DashboardSnapshot): string {
  // JSON inside <script>: no "<" may close the element early.
  const state = initial ? JSON.stringify(initial).replace(/</g, '\\u003c') : 'null';
  return PAGE_HEAD + `<script id="initial-state" type="application/json">${state}</script>\n` + PAGE_TAIL;
}

const CSS = String.raw`
:root { --bg:#0f1419; --panel:#171d24; --line:#263040; --text:#d7dde5; --dim:#8593a3; --live:#3fb950; --silent:#d29922; --down:#f85149;
        --stopped:#8b949e; --waiting:#58a6ff; --accent:#79c0ff; font-family: ui-sans-serif, system-ui, sans-serif; font-size: 13px; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); }
header.top { display:flex; gap:16px; align-items:baseline; padding:10px 16px; border-bottom:1px solid var(--line); position:sticky; top:0; background:var(--bg); z-index:2; }
header.top h1 { font-size:16px; margin:0; }
#conn[data-conn=open] { color:var(--live); } #conn[data-conn=closed] { color:var(--down); }
.dim { color:var(--dim); }
main { display:grid; grid-template-columns: minmax(0,1fr) 380px; gap:16px; padding:16px; }
@media (max-width: 1100px) { main { grid-template-columns: 1fr; } }
section.ring { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px; margin-bottom:16px; }
section.ring h2 { margin:0 0 8px; font-size:15px; }
.ringbody { display:flex; gap:16px; align-items:flex-start; }
[data-role=circle] { flex:none; } svg.circle { display:block; overflow:visible; }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap:10px; flex:1; }
article.node { border:1px solid var(--line); border-left:4px solid var(--waiting); border-radius:6px; padding:8px 10px; background:#121820; }
article.node[data-health=live] { border-left-color:var(--live); }
article.node[data-health=silent] { border-left-color:var(--silent); }
article.node[data-health=down] { border-left-color:var(--down); opacity:.75; }
article.node[data-health=stopped] { border-left-color:var(--stopped); opacity:.6; }
article.node header { display:flex; gap:6px; align-items:center; flex-wrap:wrap; margin-bottom:4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.badge { border-radius:10px; padding:1px 8px; font-size:11px; border:1px solid var(--line); }
.badge.h-live { background:#12361c; color:var(--live); } .badge.h-silent { background:#3a2c09; color:var(--silent); }
.badge.h-down { background:#3d1414; color:var(--down); } .badge.h-stopped, .badge.h-waiting { color:var(--dim); }
.badge.s-ready { color:var(--live); } .badge.s-joining { color:var(--silent); } .badge.s-failed { color:var(--down); }
.facts { display:grid; grid-template-columns: repeat(auto-fill, minmax(125px, 1fr)); gap:2px 10px; margin:4px 0; }
.facts div { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; } .facts div.wide { grid-column: span 2; }
.badge.stale { opacity:.6; font-style:italic; }
.facts div b { font-weight:600; } .warn { color:var(--silent); } .bad { color:var(--down); } .good { color:var(--live); }
ul.tree { list-style:none; margin:4px 0 0; padding-left:12px; border-left:1px dashed var(--line); }
ul.tree li { margin:1px 0; overflow-wrap:anywhere; } .ports { margin:2px 0; overflow-wrap:anywhere; } .tree .id { color:var(--accent); } .tree .val { color:var(--text); }
.small { font-size:11px; } .restarts { margin-top:4px; }
aside { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px; align-self:start; position:sticky; top:52px; max-height:calc(100vh - 70px); overflow:auto; }
aside h2 { font-size:15px; margin:0 0 8px; } aside h3 { font-size:13px; margin:12px 0 4px; }
table { border-collapse:collapse; width:100%; } td, th { text-align:left; padding:2px 6px; border-bottom:1px solid var(--line); font-size:12px; }
ol#log { list-style:none; margin:0; padding:0; }
ol#log li { border-bottom:1px solid var(--line); padding:3px 0; font-size:12px; word-break:break-word; }
.v-pass, .v-ok { color:var(--live); } .v-fail, .v-failed { color:var(--down); } .v-unknown { color:var(--silent); }
label.opt { color:var(--dim); cursor:pointer; }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var model = { orgs: [], nodes: {}, events: [], runs: {}, skewMs: 0, dropped: 0 };
  var dirty = { all: true, nodes: {}, scenario: true };
  var showTrees = true;
  var LOG_MAX = 500;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]; });
  }
  function now() { return Date.now() + model.skewMs; }
  function bytes(n) {
    if (n == null) return '?';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }
  function ago(ms) {
    if (ms == null) return 'never';
    var s = Math.max(0, (now() - ms) / 1000);
    return s < 10 ? s.toFixed(1) + ' s ago' : s < 120 ? Math.round(s) + ' s ago' : Math.round(s / 60) + ' min ago';
  }
  function clock(ms) { var d = new Date(ms); return d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0'); }
  function fmtValue(v) {
    if (v == null) return '';
    if (typeof v !== 'object') return String(v);
    var keys = Object.keys(v);
    if (keys.length === 1) { var inner = fmtValue(v[keys[0]]); return keys[0] + (inner ? ' \u203a ' + inner : ''); }
    return keys.map(function (k) { var x = v[k]; var f = fmtValue(x); return k + ': ' + (x && typeof x === 'object' && Object.keys(x).length > 1 ? '(' + f + ')' : f); }).join(' \u00b7 ');
  }
  function sum(o) { var t = 0; for (var k in o) t += o[k]; return t; }

  function renderTree(a, view) {
    var extra = '';
    if (a.id === 'replicaManager' && view && view.passes) {
      extra = ' <span class="dim small">passes ' + Object.keys(view.passes).map(function (p) {
        var f = view.passFailures && view.passFailures[p] ? '/' + view.passFailures[p] + '\u2717' : '';
        return esc(p) + ' ' + view.passes[p] + f;
      }).join(', ') + '</span>';
    }
    var status = a.status && a.status !== 'active' ? ' <span class="bad small">[' + esc(a.status) + ']</span>' : '';
    var restarts = view && view.restarts && view.restarts[a.id] ? ' <span class="warn small">\u21bb' + view.restarts[a.id] + '</span>' : '';
    var shortId = String(a.id).replace(/[0-9a-f]{16,}/g, function (hex) { return hex.slice(0, 8) + '\u2026'; });
    var html = '<li data-actor="' + esc(a.id) + '"><span class="id" title="' + esc(a.id) + '">' + esc(shortId) + '</span>: <span class="val">' + esc(fmtValue(a.value)) + '</span>' + status + restarts + extra;
    if (a.children && a.children.length) html += '<ul class="tree">' + a.children.map(function (c) { return renderTree(c, view); }).join('') + '</ul>';
    if (a.more) html += '<div class="dim small">+' + a.more + ' more</div>';
    return html + '</li>';
  }

  function renderNode(n) {
    var v = n.view;
    var state = v ? v.router.state : 'unknown';
    var h = '<header>' + (n.name ? '<b data-role="name">' + esc(n.name) + '</b>' : '') + '<code class="dim" title="' + esc(n.id) + '">' + esc(n.id.slice(0, n.name ? 8 : 12)) + '</code>' +
      '<span class="badge h-' + esc(n.health) + '" data-role="health">' + esc(n.health) + '</span>' +
      '<span class="badge s-' + esc(state) + (n.health === 'live' ? '' : ' stale') + '" data-role="state" title="' + (n.health === 'live' ? 'router state' : 'last state it reported') + '">' + esc(state) + '</span>' +
      (n.pid ? '<span class="dim small">pid ' + n.pid + '</span>' : '') + '</header>';
    var ep = n.endpoints || {};
    var eps = ['imap', 'smtp', 'mx', 'http'].filter(function (k) { return ep[k]; });
    if (eps.length) h += '<div class="small ports" data-role="ports">' + eps.map(function (k) { return '<span class="dim">' + k + '</span> ' + esc(ep[k]); }).join(' \u00b7 ') + '</div>';
    if (!v) return h + '<div class="dim">no frame yet</div>';
    var health = v.health;
    var under = health ? '<b class="' + (health.underReplicated ? 'bad' : 'good') + '" data-role="under">' + health.underReplicated + '</b> of ' + health.checked + (health.partial ? '+' : '') :
      '<span class="dim" data-role="under">not checked yet</span>';
    var restartsTotal = sum(v.restarts || {});
    var facts = [
      ['leaf set', '<b data-role="leafset">' + v.router.leafSet.length + '</b>'],
      ['routing', v.router.routingTableEntries],
      ['objects', v.storage.objects + ' (' + bytes(v.storage.bytes) + ')'],
      ['inbox drops', '<b data-role="drops">' + v.storage.dropEntries + '</b> (' + bytes(v.storage.dropBytes) + ')'],
      ['under-replicated', under + ' <span class="dim small" title="' + (v.router.leafSet.length + 1 < v.replicationFactor ? 'the ring has fewer nodes than k: no object can have k replicas' : 'replicas per object') + '">k=' +
        v.replicationFactor + (v.router.leafSet.length + 1 < v.replicationFactor ? ' &gt; ring' : '') + '</span>', true],
      ['restarts', '<b class="' + (restartsTotal ? 'warn' : '') + '" data-role="restarts">' + restartsTotal + '</b>' + (n.processRestarts ? ' <span class="dim small">(process \u00d7' + n.processRestarts + ')</span>' : '')],
    ];
    h += '<div class="facts">' + facts.map(function (f) { return '<div' + (f[2] ? ' class="wide"' : '') + '><span class="dim">' + f[0] + '</span> ' + f[1] + '</div>'; }).join('') + '</div>';
    if (v.router.failure) h += '<div class="bad">router failed: ' + esc(v.router.failure) + '</div>';
    var users = v.users;
    h += '<div class="small"><span class="dim">users</span> <b data-role="users">' + users.hosted + '</b>' + (users.unlocking ? ' <span class="warn">(+' + users.unlocking + ' unlocking)</span>' : '') +
      (users.listed.length ? ' ' + users.listed.map(esc).join(', ') + (users.hosted > users.listed.length ? ', \u2026' : '') : '') + '</div>';
    var mail = Object.keys(v.mail || {});
    if (mail.length && !eps.length) h += '<div class="small"><span class="dim">mail</span> ' + mail.map(function (k) { return esc(k) + ' ' + v.mail[k]; }).join(' \u00b7 ') + '</div>';
    if (showTrees && v.actors) h += '<ul class="tree" data-role="actors">' + renderTree(v.actors, v) + '</ul>';
    if (v.recentRestarts && v.recentRestarts.length) {
      h += '<div class="restarts small">' + v.recentRestarts.slice().reverse().map(function (r) {
        return '<div class="warn">\u21bb ' + esc(r.child) + ' at ' + clock(r.atMs) + ': ' + esc(r.error) + '</div>';
      }).join('') + '</div>';
    }
    h += '<div class="dim small" data-role="age">last frame ' + ago(n.lastSeenMs) + ' \u00b7 #' + v.seq + ' (' + esc(v.reason) + ')</div>';
    return h;
  }

  function ringAngle(id) { return (parseInt(id.slice(0, 8), 16) / 4294967296) * 2 * Math.PI - Math.PI / 2; }
  var HEALTH_COLOUR = { live: '#3fb950', silent: '#d29922', down: '#f85149', stopped: '#8b949e', waiting: '#58a6ff' };
  function renderCircle(nodes) {
    var r = 70, c = 105, s = '<svg class="circle" width="210" height="210" viewBox="0 0 210 210"><circle cx="105" cy="105" r="70" fill="none" stroke="#263040" stroke-width="2"/>';
    nodes.forEach(function (n) {
      var a = ringAngle(n.id), x = c + r * Math.cos(a), y = c + r * Math.sin(a);
      var ready = n.view && n.view.router.state === 'ready';
      s += '<circle cx="' + x.toFixed(1) + '" cy="' + y.toFixed(1) + '" r="' + (ready ? 6 : 5) + '" fill="' + (HEALTH_COLOUR[n.health] || '#888') + '"' +
        (ready ? '' : ' stroke="#d29922" stroke-width="2"') + '><title>' + esc(n.id.slice(0, 12) + ' ' + n.health + (n.view ? ' ' + n.view.router.state : '')) + '</title></circle>';
      var lx = c + (r + 10) * Math.cos(a), ly = c + (r + 10) * Math.sin(a) + 3, anchor = Math.cos(a) < -0.3 ? 'end' : Math.cos(a) > 0.3 ? 'start' : 'middle';
      if (nodes.length <= 24) s += '<text x="' + lx.toFixed(1) + '" y="' + (ly + (anchor === 'middle' ? (Math.sin(a) > 0 ? 6 : -4) : 0)).toFixed(1) + '" fill="#8593a3" font-size="9" text-anchor="' + anchor + '">' + esc(n.name || n.id.slice(0, 4)) + '</text>';
    });
    return s + '</svg>';
  }

  function ringsOf() {
    var byOrg = {}, order = [];
    model.orgs.forEach(function (o) { byOrg[o.domain] = { domain: o.domain, ringId: o.ringId, nodes: [] }; order.push(o.domain); });
    var label = function (id) { return model.nodes[id].name || id; };
    Object.keys(model.nodes).sort(function (a, b) { return label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0; }).forEach(function (id) {
      var n = model.nodes[id];
      if (!byOrg[n.org]) { byOrg[n.org] = { domain: n.org, ringId: n.ringId || '', nodes: [] }; order.push(n.org); }
      byOrg[n.org].nodes.push(n);
    });
    return order.map(function (d) { return byOrg[d]; });
  }

  function counts(nodes) {
    var c = { live: 0, silent: 0, down: 0, stopped: 0, waiting: 0, ready: 0 };
    nodes.forEach(function (n) { c[n.health]++; if (n.health === 'live' && n.view && n.view.router.state === 'ready') c.ready++; });
    return c;
  }
  function countsText(c, total) {
    return total + ' nodes: ' + c.ready + ' ready, ' + c.live + ' live' + (c.silent ? ', ' + c.silent + ' silent' : '') + (c.down ? ', ' + c.down + ' down' : '') +
      (c.stopped ? ', ' + c.stopped + ' stopped' : '') + (c.waiting ? ', ' + c.waiting + ' waiting' : '');
  }

  function renderRings() {
    var root = document.getElementById('rings');
    var rings = ringsOf();
    var want = rings.map(function (r) { return r.domain; }).join('|');
    if (root.getAttribute('data-orgs') !== want) {
      root.innerHTML = rings.map(function (r) {
        return '<section class="ring" data-org="' + esc(r.domain) + '"><h2>' + esc(r.domain) + ' <span class="dim small">ring ' + esc((r.ringId || '').slice(0, 16)) +
          '</span> <span class="dim small" data-role="ring-counts"></span></h2><div class="ringbody"><div data-role="circle"></div><div class="cards"></div></div></section>';
      }).join('');
      root.setAttribute('data-orgs', want);
      dirty.all = true;
    }
    rings.forEach(function (r) {
      var sec = root.querySelector('section.ring[data-org="' + cssEsc(r.domain) + '"]');
      if (!sec) return;
      var c = counts(r.nodes);
      sec.querySelector('[data-role=ring-counts]').textContent = countsText(c, r.nodes.length);
      sec.querySelector('[data-role=circle]').innerHTML = renderCircle(r.nodes);
      var cards = sec.querySelector('.cards');
      r.nodes.forEach(function (n, i) {
        var el = cards.querySelector('article[data-node-id="' + n.id + '"]');
        if (!el) {
          el = document.createElement('article');
          el.className = 'node';
          el.setAttribute('data-node-id', n.id);
          var before = cards.children[i] || null;
          cards.insertBefore(el, before);
          dirty.nodes[n.id] = true;
        }
        if (!dirty.all && !dirty.nodes[n.id]) return;
        el.setAttribute('data-health', n.health);
        el.setAttribute('data-state', n.view ? n.view.router.state : 'unknown');
        el.setAttribute('data-leafset', n.view ? String(n.view.router.leafSet.length) : '0');
        el.innerHTML = renderNode(n);
      });
    });
    var all = Object.keys(model.nodes).map(function (k) { return model.nodes[k]; });
    var c = counts(all);
    var summary = document.getElementById('summary');
    summary.textContent = countsText(c, all.length);
    summary.setAttribute('data-total', String(all.length));
    summary.setAttribute('data-ready', String(c.ready));
    summary.setAttribute('data-down', String(c.down));
    document.title = 'POST lab: ' + c.ready + '/' + all.length + ' ready';
    dirty.all = false;
    dirty.nodes = {};
  }
  function cssEsc(s) { return String(s).replace(/["\\]/g, '\\$&'); }

  function verdictClass(v) { return v ? 'v-' + String(v).toLowerCase().replace(/[^a-z]/g, '') : ''; }
  function renderScenario() {
    var runs = Object.keys(model.runs).map(function (k) { return model.runs[k]; }).sort(function (a, b) { return b.lastMs - a.lastMs; });
    document.getElementById('runs').innerHTML = runs.length ? runs.map(function (r) {
      return '<tr data-run="' + esc(r.key) + '"><td>' + esc(r.key) + '</td><td>' + esc(r.phase || '') + '</td><td class="' + verdictClass(r.verdict) + '">' + esc(r.verdict || '') +
        '</td><td>' + r.events + '</td><td class="dim">' + clock(r.lastMs) + '</td></tr>';
    }).join('') : '<tr><td colspan="5" class="dim">no scenario events yet</td></tr>';
    document.getElementById('scenario-count').textContent = model.events.length ? model.events.length + ' events' + (model.dropped ? ', ' + model.dropped + ' too large' : '') : '';
    dirty.scenario = false;
  }
  function logLine(entry) {
    var e = entry.event, rest = {};
    for (var k in e) if (['scenario', 'phase', 'op', 'verdict'].indexOf(k) < 0) rest[k] = e[k];
    var li = document.createElement('li');
    li.setAttribute('data-scenario-n', String(entry.n));
    if (typeof e.scenario === 'string') li.setAttribute('data-scenario', e.scenario);
    var rs = JSON.stringify(rest);
    li.innerHTML = '<span class="dim">' + clock(entry.atMs) + '</span> ' + (e.scenario != null ? '<b>' + esc(e.scenario) + '</b> ' : '') +
      (e.phase != null ? esc(e.phase) + ' ' : '') + (e.op != null ? '<code>' + esc(typeof e.op === 'string' ? e.op : JSON.stringify(e.op)) + '</code> ' : '') +
      (e.verdict != null ? '<b class="' + verdictClass(e.verdict) + '">' + esc(e.verdict) + '</b> ' : '') + (rs !== '{}' ? '<span class="dim">' + esc(rs.length > 400 ? rs.slice(0, 400) + '\u2026' : rs) + '</span>' : '');
    return li;
  }
  function addLog(entry) {
    var log = document.getElementById('log');
    log.insertBefore(logLine(entry), log.firstChild);
    while (log.children.length > LOG_MAX) log.removeChild(log.lastChild);
  }

  var scheduled = false;
  function schedule() { if (!scheduled) { scheduled = true; setTimeout(function () { scheduled = false; renderRings(); if (dirty.scenario) renderScenario(); }, 100); } }

  function onState(s) {
    model.skewMs = s.nowMs - Date.now();
    model.orgs = s.orgs;
    model.nodes = {};
    s.nodes.forEach(function (n) { model.nodes[n.id] = n; });
    model.events = s.scenario.events;
    model.dropped = s.scenario.dropped;
    model.runs = {};
    s.scenario.runs.forEach(function (r) { model.runs[r.key] = r; });
    var log = document.getElementById('log');
    log.innerHTML = '';
    model.events.forEach(addLog);
    dirty.all = true; dirty.scenario = true;
    schedule();
  }

  function connect() {
    var conn = document.getElementById('conn');
    var es = new EventSource('events');
    es.onopen = function () { conn.textContent = 'connected'; conn.setAttribute('data-conn', 'open'); };
    es.onerror = function () { conn.textContent = 'reconnecting\u2026'; conn.setAttribute('data-conn', 'closed'); };
    es.addEventListener('state', function (m) { onState(JSON.parse(m.data)); });
    es.addEventListener('node', function (m) { var e = JSON.parse(m.data); model.nodes[e.node.id] = e.node; dirty.nodes[e.node.id] = true; schedule(); });
    es.addEventListener('health', function (m) {
      var e = JSON.parse(m.data), n = model.nodes[e.id];
      if (n) { n.health = e.health; n.lastSeenMs = e.lastSeenMs; dirty.nodes[e.id] = true; schedule(); }
    });
    es.addEventListener('lab', function (m) { model.orgs = JSON.parse(m.data).orgs; dirty.all = true; schedule(); });
    es.addEventListener('scenario', function (m) {
      var e = JSON.parse(m.data);
      model.events.push(e.entry);
      if (model.events.length > LOG_MAX) model.events.shift();
      model.runs[e.run.key] = e.run;
      addLog(e.entry);
      dirty.scenario = true;
      schedule();
    });
  }

  // The state as of the page's request: drawn now, then kept current by /events.
  var initial = JSON.parse(document.getElementById('initial-state').textContent || 'null');
  if (initial) { onState(initial); renderRings(); renderScenario(); }
  document.getElementById('trees').addEventListener('change', function (ev) { showTrees = ev.target.checked; dirty.all = true; schedule(); });
  // Ages ("last frame 2.1 s ago") move on even when nothing arrives.
  setInterval(function () {
    document.querySelectorAll('article.node').forEach(function (el) {
      var n = model.nodes[el.getAttribute('data-node-id')], age = el.querySelector('[data-role=age]');
      if (n && n.view && age) age.textContent = 'last frame ' + ago(n.lastSeenMs) + ' \u00b7 #' + n.view.seq + ' (' + n.view.reason + ')';
    });
    document.getElementById('clock').textContent = clock(now());
  }, 1000);
  connect();
})();
`;

const PAGE_HEAD = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>POST lab</title>
<style>${CSS}</style>
</head>
<body>
<header class="top">
  <h1>POST lab</h1>
  <span id="conn" data-conn="connecting" class="dim">connecting…</span>
  <span id="summary" data-total="0" data-ready="0" data-down="0"></span>
  <label class="opt"><input type="checkbox" id="trees" checked> actor trees</label>
  <span id="clock" class="dim"></span>
</header>
<main>
  <div id="rings"></div>
  <aside id="scenario">
    <h2>Scenario runs <span id="scenario-count" class="dim small"></span></h2>
    <table><thead><tr><th>run</th><th>phase</th><th>verdict</th><th>events</th><th>last</th></tr></thead><tbody id="runs"></tbody></table>
    <h3>Log</h3>
    <ol id="log"></ol>
  </aside>
</main>
`;
const PAGE_TAIL = `<script>${SCRIPT}</script>
</body>
</html>
`;
