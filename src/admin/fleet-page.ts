/**
 * The fleet view of the admin page (fleet mode): the group and its store, the group's state of
 * each upstream with fleet-wide open / reset buttons, each pod's view of each upstream, and the
 * leases. It asks `GET /fleet` on every refresh and stays hidden while that answers 404 (fleet
 * mode off). Text is set with `textContent` only.
 */

export const FLEET_STYLE = `
#fleet[hidden]{display:none}
#fleet p.meta{margin:0 24px 10px}
#fleet .meta b.connected{color:var(--closed)}#fleet .meta b.down{color:var(--open)}
#fleet td.state{font-weight:600}#fleet td.closed{color:var(--closed)}#fleet td.half_open{color:var(--half_open)}
#fleet td.open{color:var(--open)}#fleet td.forced_open{color:var(--forced_open)}
#fleet .why{max-width:520px}
`;

export const FLEET_SECTION = `<section id="fleet" hidden>
<h2>Fleet</h2>
<p class="meta" id="fleet-meta"></p>
<table id="fleet-groups"></table>
<table id="fleet-pods"></table>
<table id="fleet-leases"></table>
</section>`;

export const FLEET_SCRIPT = `
function ago(iso) { return iso ? Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)) + ' s ago' : '-'; }
function row(cells, head) { return el('tr', {}, ...cells.map((c) => el(head ? 'th' : 'td', typeof c === 'object' && c.cls ? { class: c.cls } : {}, typeof c === 'object' ? c.text : String(c)))); }
async function fleetControl(name, action, retried) {
  const headers = { 'content-type': 'application/json' };
  const token = sessionStorage.getItem('breakwater-token');
  if (token) headers.authorization = 'Bearer ' + token;
  const body = { by: 'the admin page', ...(action === 'open' ? { reason: 'forced open from the admin page' } : {}) };
  const r = await fetch('/fleet/circuit-breakers/' + encodeURIComponent(name) + '/' + action,
    { method: 'POST', headers, body: JSON.stringify(body) });
  if (r.status === 401 && !retried) {
    const t = prompt('Admin token (admin.token)');
    if (t) { sessionStorage.setItem('breakwater-token', t); return fleetControl(name, action, true); }
  }
  refreshFleet();
}
function fleetButtons(name) {
  const open = el('button', { 'data-fleet-action': 'open' }, 'Open for the fleet');
  const reset = el('button', { 'data-fleet-action': 'reset' }, 'Reset for the fleet');
  open.onclick = () => fleetControl(name, 'open');
  reset.onclick = () => fleetControl(name, 'reset');
  return el('td', {}, el('div', { class: 'actions' }, open, reset));
}
function renderFleet(f) {
  $('fleet').hidden = false;
  $('fleet').dataset.store = f.store;
  const meta = $('fleet-meta');
  meta.replaceChildren('group ', el('b', {}, f.group), ' · store ', el('b', { class: f.store }, f.store),
    ' since ' + ago(f.store_since) + ' · quorum ' + f.quorum + ' · ' + f.pods.length + ' pods · answered by ' + f.pod + (f.stale ? ' (last view read)' : ''));
  const groups = $('fleet-groups');
  groups.replaceChildren(row(['upstream', 'group', 'since', 'failing', 'reason', ''], true));
  for (const [name, g] of Object.entries(f.upstreams)) {
    const r = g.last_recovery;
    const why = g.reason || (g.state === 'closed' && r ? 'recovered ' + ago(r.at) + ': ' + r.reason : '-');
    const tr = row([name, { text: g.state, cls: 'state ' + g.state }, ago(g.since), g.failing.map((x) => x.pod + ' ' + x.failures).join(', ') || '-', { text: why, cls: 'why' }]);
    tr.dataset.fleetUpstream = name;
    tr.dataset.state = g.state;
    tr.append(fleetButtons(name));
    groups.append(tr);
  }
  const pods = $('fleet-pods');
  pods.replaceChildren(row(['pod', 'last heard', 'upstream', 'state', 'since', 'opened by', 'leases', 'trip reason'], true));
  for (const p of f.pods) {
    for (const [name, u] of Object.entries(p.upstreams)) {
      const leases = [u.probe_lease ? 'probe' : '', u.budget_leases ? 'budget ' + u.budget_leases : ''].filter(Boolean).join(', ') || '-';
      const tr = row([p.pod, ago(p.last_heard), name, { text: u.state, cls: 'state ' + u.state }, ago(u.since), u.fleet_opened ? 'fleet' : '-', leases, { text: u.trip_reason || '-', cls: 'why' }]);
      tr.dataset.pod = p.pod;
      tr.dataset.upstream = name;
      tr.dataset.state = u.state;
      pods.append(tr);
    }
  }
  const leases = $('fleet-leases');
  leases.replaceChildren(row(['lease', 'upstream', 'pod', 'id', 'expires'], true));
  for (const l of f.leases) leases.append(row([l.kind, l.upstream, l.pod, l.id || '-', 'in ' + Math.max(0, Math.ceil((Date.parse(l.expires_at) - Date.now()) / 1000)) + ' s']));
}
async function refreshFleet() {
  const r = await call('/fleet', {}, false).catch(() => null);
  if (r === null) return true;
  if (r.status === 404) { $('fleet').hidden = true; return false; }
  if (r.ok) renderFleet(await r.json());
  return true;
}
(async function fleetLoop() {
  if (await refreshFleet()) setTimeout(fleetLoop, REFRESH_MS);
})();
`;
