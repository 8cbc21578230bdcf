import { FLEET_SCRIPT, FLEET_SECTION, FLEET_STYLE } from './fleet-page.ts';
import { HISTORY_HTML, HISTORY_SCRIPT, HISTORY_STYLE } from './page-history.ts';

/** How often the admin page refreshes itself, in ms. */
export const PAGE_REFRESH_MS = 1500;

const STYLE = `
:root{--bg:#0f1419;--card:#19212b;--line:#2a3441;--text:#e6edf3;--dim:#8b98a5;
--closed:#2ea043;--half_open:#d29922;--open:#f85149;--forced_open:#a371f7}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--text)}
header{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline;padding:16px 24px;border-bottom:1px solid var(--line)}
h1{font-size:20px;margin:0}h2{font-size:15px;margin:24px 24px 8px;color:var(--dim);font-weight:600;text-transform:uppercase;letter-spacing:.06em}
.meta{color:var(--dim)}.meta code{color:var(--text)}
#status.bad{color:var(--open)}
#reload-error{display:none;margin:12px 24px 0;padding:10px 14px;border:1px solid var(--open);border-radius:8px;white-space:pre-wrap;font:12px/1.4 ui-monospace,monospace}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:14px;padding:0 24px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--dim);border-radius:10px;padding:14px 16px}
.card.closed{border-left-color:var(--closed)}.card.half_open{border-left-color:var(--half_open)}
.card.open{border-left-color:var(--open)}.card.forced_open{border-left-color:var(--forced_open)}
.top{display:flex;justify-content:space-between;align-items:center;gap:8px}
.name{font-size:16px;font-weight:600}
.badge{padding:2px 10px;border-radius:999px;font-size:12px;font-weight:700;color:#0f1419;background:var(--dim)}
.closed .badge{background:var(--closed)}.half_open .badge{background:var(--half_open)}
.open .badge{background:var(--open)}.forced_open .badge{background:var(--forced_open)}
dl{display:grid;grid-template-columns:repeat(3,1fr);gap:6px 10px;margin:12px 0}
dt{color:var(--dim);font-size:11px;text-transform:uppercase;letter-spacing:.04em}dd{margin:0;font-size:16px;font-variant-numeric:tabular-nums}
.why{min-height:1.4em;color:var(--dim);font-size:13px}.why b{color:var(--text);font-weight:500}
.actions{display:flex;gap:8px;margin-top:10px}
button{background:transparent;color:var(--text);border:1px solid var(--line);border-radius:6px;padding:4px 12px;cursor:pointer;font:inherit}
button:hover{border-color:var(--dim)}
table{border-collapse:collapse;margin:0 24px 8px;min-width:420px}
td,th{padding:4px 12px 4px 0;text-align:left;font-variant-numeric:tabular-nums}th{color:var(--dim);font-weight:600}
.share{display:flex;align-items:center;gap:8px}.bar{height:8px;border-radius:4px;background:#388bfd;min-width:1px}
`;

const SCRIPT = `
const REFRESH_MS = ${PAGE_REFRESH_MS};
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function secondsUntil(iso) {
  return iso ? Math.max(0, Math.ceil((Date.parse(iso) - Date.now()) / 1000)) : null;
}
function why(b) {
  const w = el('div', { class: 'why' });
  if (b.trip_reason) w.append('trip: ', el('b', {}, b.trip_reason));
  const s = secondsUntil(b.next_attempt_at);
  if (b.state === 'open' && s !== null) w.append(el('div', {}, s === 0 ? 'next call is a trial' : 'next attempt in ' + s + ' s'));
  if (b.state === 'forced_open') w.append(el('div', {}, 'held open until reset'));
  if (b.state === 'half_open') w.append(el('div', {}, 'trial calls: ' + b.consecutive_successes + ' ok so far'));
  return w;
}
function card(name, b) {
  const stats = [['requests', b.total_requests], ['successes', b.total_successes], ['failures', b.total_failures],
    ['in a row', b.consecutive_failures], ['timeouts', b.total_timeouts], ['rejected', b.total_rejections]];
  const dl = el('dl');
  for (const [k, v] of stats) dl.append(el('div', {}, el('dt', {}, k), el('dd', {}, String(v))));
  const reset = el('button', { 'data-action': 'reset' }, 'Reset');
  const open = el('button', { 'data-action': 'open' }, 'Force open');
  reset.onclick = () => control(name, 'reset');
  open.onclick = () => control(name, 'open');
  return el('section', { class: 'card ' + b.state, 'data-breaker': name, 'data-state': b.state },
    el('div', { class: 'top' }, el('span', { class: 'name' }, name), el('span', { class: 'badge' }, b.state.replace('_', ' '))),
    dl, why(b), el('div', { class: 'actions' }, reset, open));
}
function usage(data) {
  const box = $('usage');
  box.replaceChildren();
  for (const [route, tiers] of Object.entries(data.tier_usage)) {
    const total = Object.values(tiers).reduce((a, b) => a + b, 0);
    const t = el('table', { 'data-route': route }, el('tr', {}, el('th', {}, 'route ' + route), el('th', {}, 'requests'), el('th', {}, 'share')));
    for (const [tier, n] of Object.entries(tiers)) {
      const pct = total ? Math.round((n / total) * 100) : 0;
      const bar = el('div', { class: 'bar', style: 'width:' + Math.max(1, pct * 2) + 'px' });
      t.append(el('tr', { 'data-tier': tier }, el('td', {}, tier), el('td', {}, String(n)), el('td', {}, el('div', { class: 'share' }, bar, pct + ' %'))));
    }
    box.append(t);
  }
}
const TOKEN_KEY = 'breakwater-token';
let askedForReads = false;
function withToken(headers) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...headers, authorization: 'Bearer ' + token } : headers;
}
// One call; on 401 (a token is needed and none or a wrong one is kept) ask for it once and retry.
async function call(path, init, mayAsk) {
  const send = () => fetch(path, { ...init, cache: 'no-store', headers: withToken(init.headers || {}) });
  const r = await send();
  if (r.status !== 401 || !mayAsk) return r;
  const t = prompt('Admin token (admin.token)');
  if (!t) return r;
  sessionStorage.setItem(TOKEN_KEY, t);
  return send();
}
async function getJson(path, mayAsk) {
  const r = await call(path, {}, mayAsk);
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status + (r.status === 401 ? ' (admin token needed: reload the page to enter it)' : ''));
  return r.json();
}
async function refresh() {
  try {
    // Breakers first and alone: on a listener that needs the token for reads, one prompt only.
    const mayAsk = !askedForReads;
    askedForReads = true;
    const cb = await getJson('/circuit-breakers', mayAsk);
    const [tu, cfg] = await Promise.all([getJson('/tier-usage', false), getJson('/config', false)]);
    const grid = $('breakers');
    grid.replaceChildren(...Object.entries(cb.circuit_breakers).map(([n, b]) => card(n, b)));
    usage(tu);
    $('sha').textContent = cfg.sha256.slice(0, 12);
    $('sha').title = cfg.sha256;
    $('loaded').textContent = new Date(cfg.loaded_at).toLocaleString();
    $('file').textContent = cfg.file || 'inline text';
    const err = cfg.last_reload_error;
    $('reload-error').style.display = err ? 'block' : 'none';
    $('reload-error').textContent = err ? 'Last reload rejected (' + err.at + '), still serving ' + cfg.sha256.slice(0, 12) + ':\\n' + err.message : '';
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
    $('status').className = '';
  } catch (e) {
    $('status').textContent = 'cannot reach the admin API: ' + e.message;
    $('status').className = 'bad';
  }
}
async function control(name, action) {
  // Same origin, a JSON body type: the admin API refuses form posts and other sites (docs/operations.md).
  const init = { method: 'POST', headers: { 'content-type': 'application/json' },
    body: action === 'open' ? JSON.stringify({ reason: 'forced open from the admin page' }) : '' };
  await call('/circuit-breakers/' + encodeURIComponent(name) + '/' + action, init, true);
  refresh();
}
async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
}
loop();
`;

/**
 * The admin page (`GET /`): one card per breaker (state colour, counts, trip reason, time to the
 * next attempt, reset / force-open buttons), tier usage per route, the active policy hash, the
 * last 15 minutes as inline SVG (`page-history.ts`) and, in fleet mode, the fleet view
 * (`fleet-page.ts`). One HTML string, no framework; it refreshes itself every
 * {@link PAGE_REFRESH_MS} ms with `fetch` from `/circuit-breakers`, `/tier-usage`, `/config`,
 * `/history` and `/fleet`. Text is set with `textContent` only.
 */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>breakwater</title>
<style>${STYLE}${HISTORY_STYLE}${FLEET_STYLE}</style>
</head>
<body>
<header>
<h1>breakwater</h1>
<span class="meta">policy <code id="sha">…</code> from <code id="file">…</code>, loaded <span id="loaded">…</span></span>
<span class="meta" id="status">loading…</span>
</header>
<div id="reload-error"></div>
<h2>Circuit breakers</h2>
<div class="grid" id="breakers"></div>
<h2>Tier usage</h2>
<div id="usage"></div>
${HISTORY_HTML}
${FLEET_SECTION}
<script>${SCRIPT}${HISTORY_SCRIPT}${FLEET_SCRIPT}</script>
</body>
</html>
`;
