import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { browserPerTest, HAVE_CHROMIUM } from '../helpers/chromium.ts';
import type { HistoryView } from '../../src/history/index.ts';
import { chat, ROOT, startFull, type Full } from '../sidecar/helpers.ts';

/** A Chromium start takes seconds alone and far more on a loaded machine (as in page.test.ts). */
const PAGE_TEST_TIMEOUT_MS = 60_000;

const { dir, browser } = browserPerTest('bw-history-');
const open: { full: Full | null } = { full: null };

afterEach(async () => {
  await open.full?.close();
  open.full = null;
});

/** Closes `n` buckets with `calls` chat calls in each (the recorder is sampled by hand, not by its timer). */
async function buckets(full: Full, n: number, calls: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < calls; c++) await chat(full.proxyUrl);
    await full.sidecar.history.sample();
  }
}

/** MAX answers, then fails (its breaker opens, Ollama answers), then heals and is reset. */
async function outage(full: Full): Promise<void> {
  await buckets(full, 4, 2);
  await full.max.setFault({ mode: 'status', status: 503 });
  await buckets(full, 5, 2);
  await full.max.clearFault();
  full.sidecar.breakers()[0]!.reset();
  await buckets(full, 3, 2);
}

describe('GET /history', () => {
  it('serves the buckets with breaker trips and tier answers after an outage', async () => {
    open.full = await startFull();
    await outage(open.full);
    const res = await fetch(`${open.full.adminUrl}/history`);
    expect(res.status).toBe(200);
    const h = (await res.json()) as HistoryView;
    expect(h.bucket_seconds).toBe(10);
    expect(h.capacity).toBe(90);
    expect(h.buckets.length).toBeGreaterThanOrEqual(12);
    const trips = h.buckets.reduce((n, b) => n + (b.breakers['max-gpu']?.trips ?? 0), 0);
    expect(trips).toBe(1);
    const sum = (tier: string): number => h.buckets.reduce((n, b) => n + (b.tiers[tier] ?? 0), 0);
    expect(sum('max-gpu') + sum('ollama-cpu')).toBe(24);
    expect(sum('ollama-cpu')).toBeGreaterThanOrEqual(8);
    expect(h.buckets.some((b) => b.breakers['max-gpu']?.worst === 'open')).toBe(true);
    expect(h.buckets.at(-1)!.breakers['max-gpu']!.state).toBe('closed');
  });
});

describe('admin page history', () => {
  it.skipIf(!HAVE_CHROMIUM)(
    'draws a state band with the trip and the tier share as inline SVG when the primary failed',
    async () => {
      const scratch = await dir();
      open.full = await startFull();
      const full = open.full;
      await outage(full);
      const page = await (await browser()).newPage();
      const errors: string[] = [];
      const foreign: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith(full.adminUrl)) foreign.push(r.url());
      });
      await page.goto(`${full.adminUrl}/`);
      const band = page.locator('#state-bands g[data-breaker="max-gpu"]');
      await band.locator('rect[data-state="open"]').first().waitFor();
      expect(await band.locator('path[data-trip]').count()).toBe(1);
      expect(await band.locator('rect[data-state="closed"]').count()).toBeGreaterThan(0);
      expect(
        await page.locator('#state-bands g[data-breaker="ollama-cpu"] rect[data-state="open"]').count(),
      ).toBe(0);
      const fallback = page.locator('#tier-share rect[data-tier="ollama-cpu"]');
      expect(await fallback.count()).toBeGreaterThan(0);
      expect(await page.locator('#tier-share rect[data-tier="max-gpu"]').count()).toBeGreaterThan(0);
      expect(await page.locator('script[src], link[rel="stylesheet"]').count()).toBe(0);
      const shot = join(scratch, 'admin-history.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await readFile(shot)).subarray(1, 4).toString()).toBe('PNG');
      if (process.env.BREAKWATER_UPDATE_SCREENSHOT === '1')
        await copyFile(shot, join(ROOT, 'docs', 'img', 'admin-history.png'));
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    },
    PAGE_TEST_TIMEOUT_MS,
  );
});
