/** How often the page reads `GET /history`, in ms (a bucket is 10 s wide). */
export const HISTORY_REFRESH_MS = 5000;

/** Styles of the history charts. */
export const HISTORY_STYLE = `
.history{padding:0 24px}.history svg{display:block;width:100%;max-width:980px;background:var(--card);border:1px solid var(--line);border-radius:10px}
.history text{fill:var(--dim);font-size:11px}.history .trip{fill:var(--text)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:6px 0 12px;color:var(--dim);font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
`;

/** The history section: filled by {@link HISTORY_SCRIPT}. */
export const HISTORY_HTML = `
<h2>Last 15 minutes</h2>
<div class="history" id="history"><p class="meta">no history yet: a bucket closes every 10 s</p></div>
`;

/**
 * Draws `GET /history` as inline SVG (no library, no external script: the page's CSP allows
 * neither): a state band per breaker (each bucket coloured by the worst state it was in, a
 * triangle per trip) and each tier's share of answers per bucket, newest on the right. Uses the
 * page's `el` and `call` helpers and refreshes on its own timer.
 */
export const HISTORY_SCRIPT = `
const SVG_NS = 'http://www.w3.org/2000/svg';
const STATE_COLOR = { closed: '#2ea043', half_open: '#d29922', open: '#f85149', forced_open: '#a371f7' };
const TIER_PALETTE = ['#388bfd', '#d29922', '#3fb950', '#a371f7', '#f0883e', '#8b98a5', '#db61a2'];
const tierColors = new Map([['none', '#f85149']]);
function tierColor(t) {
  if (!tierColors.has(t)) tierColors.set(t, TIER_PALETTE[(tierColors.size - 1) % TIER_PALETTE.length]);
  return tierColors.get(t);
}
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k);
  return e;
}
const CHART_W = 960, LABEL_W = 110, ROW_H = 22;
function slot(h, i) {
  const bw = (CHART_W - LABEL_W) / h.capacity;
  return { x: CHART_W - (h.buckets.length - i) * bw, w: Math.max(1, bw - 1) };
}
function axis(h, y) {
  const minutes = Math.round((h.capacity * h.bucket_seconds) / 60);
  return [svg('text', { x: LABEL_W, y }, '-' + minutes + ' min'), svg('text', { x: CHART_W - 4, y, 'text-anchor': 'end' }, 'now')];
}
function stateBands(h) {
  const names = [...new Set(h.buckets.flatMap((b) => Object.keys(b.breakers)))];
  const root = svg('svg', { id: 'state-bands', viewBox: '0 0 ' + CHART_W + ' ' + (names.length * ROW_H + 22), role: 'img' });
  names.forEach((name, r) => {
    const y = 4 + r * ROW_H;
    const g = svg('g', { 'data-breaker': name }, svg('text', { x: 8, y: y + 14 }, name));
    h.buckets.forEach((b, i) => {
      const s = b.breakers[name];
      if (!s) return;
      const { x, w } = slot(h, i);
      const at = new Date(b.at_ms).toLocaleTimeString();
      g.append(svg('rect', { x, y, width: w, height: ROW_H - 6, fill: STATE_COLOR[s.worst] || '#8b98a5', 'data-state': s.worst },
        svg('title', {}, name + ' ' + s.worst + ' until ' + at + (s.trips ? ', ' + s.trips + ' trip(s)' : ''))));
      if (s.trips > 0) g.append(svg('path', { class: 'trip', 'data-trip': s.trips, d: 'M' + (x + w / 2) + ' ' + (y + ROW_H - 6) + 'l-4 6h8z' }));
    });
    root.append(g);
  });
  root.append(...axis(h, names.length * ROW_H + 18));
  return root;
}
function tierShare(h) {
  const H = 120;
  const root = svg('svg', { id: 'tier-share', viewBox: '0 0 ' + CHART_W + ' ' + (H + 22), role: 'img' });
  root.append(svg('text', { x: 8, y: 14 }, 'tier share'), svg('text', { x: 8, y: H }, 'answers'));
  h.buckets.forEach((b, i) => {
    const total = Object.values(b.tiers).reduce((a, n) => a + n, 0);
    if (total === 0) return;
    const { x, w } = slot(h, i);
    let y = 4 + H - 4;
    for (const [tier, n] of Object.entries(b.tiers)) {
      if (n === 0) continue;
      const hh = ((H - 8) * n) / total;
      y -= hh;
      root.append(svg('rect', { x, y, width: w, height: hh, fill: tierColor(tier), 'data-tier': tier, 'data-share': (n / total).toFixed(3) },
        svg('title', {}, tier + ': ' + n + ' of ' + total + ' answers')));
    }
  });
  root.append(...axis(h, H + 18));
  return root;
}
function legend(h) {
  const tiers = [...new Set(h.buckets.flatMap((b) => Object.keys(b.tiers)))];
  return el('div', { class: 'legend' }, ...tiers.map((t) => {
    const i = el('i', { style: 'background:' + tierColor(t) });
    return el('span', {}, i, t);
  }));
}
async function drawHistory() {
  try {
    const r = await call('/history', {}, false);
    if (!r.ok) return;
    const h = await r.json();
    if (h.buckets.length === 0) return;
    $('history').replaceChildren(stateBands(h), legend(h), tierShare(h));
  } catch (e) {
    // The breakers' refresh reports an unreachable admin API; the charts keep their last drawing.
  }
}
async function historyLoop() {
  await drawHistory();
  setTimeout(historyLoop, ${HISTORY_REFRESH_MS});
}
historyLoop();
`;
