import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { browserPerTest, CHROMIUM, HAVE_CHROMIUM } from '../helpers/chromium.ts';
import { basePolicy, chat, ROOT, startFull, type Full } from '../sidecar/helpers.ts';

/**
 * Per-test limit: a Chromium start and a few page refreshes take ~8 s alone but over 20 s (the
 * default) when the whole suite runs on a loaded 2-core machine.
 */
const PAGE_TEST_TIMEOUT_MS = 60_000;
if (!HAVE_CHROMIUM)
  console.warn(`admin page test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

const { dir, browser } = browserPerTest('bw-page-');
const open: { full: Full | null } = { full: null };

afterEach(async () => {
  await open.full?.close();
  open.full = null;
});

/** The test policy with an active health check on the primary, as the demo has. */
const policy = (max: string, ollama: string): string =>
  basePolicy(max, ollama).replace(
    '    breaker: { failureThreshold: 2',
    '    healthCheck: { path: /health, interval: 5s }\n    breaker: { failureThreshold: 2',
  );

describe('admin page', () => {
  it.skipIf(!HAVE_CHROMIUM)(
    'shows a card turning open when the primary upstream fails',
    async () => {
      const scratch = await dir();
      open.full = await startFull({ policy, file: join(scratch, 'policy.yaml') });
      const full = open.full;
      for (let i = 0; i < 6; i++) await chat(full.proxyUrl);
      const context = await browser();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${full.adminUrl}/`);
      await page.locator('[data-breaker="max-gpu"][data-state="closed"]').waitFor();
      await expect
        .poll(() => page.locator('#sha').textContent())
        .toBe(full.sidecar.policy.source.sha256.slice(0, 12));

      await full.max.setFault({ mode: 'status', status: 503 });
      for (let i = 0; i < 3; i++) await chat(full.proxyUrl);
      const card = page.locator('[data-breaker="max-gpu"][data-state="open"]');
      await card.waitFor();
      const text = (await card.textContent())!;
      expect(text).toContain('2 consecutive failures (last: status: HTTP 503)');
      expect(text).toMatch(/next attempt in (29|30) s/);
      const row = page.locator('table[data-route="chat"] tr[data-tier="ollama-cpu"]');
      await expect.poll(() => row.textContent()).toContain('3');

      await page.locator('[data-breaker="ollama-cpu"] button[data-action="open"]').click();
      await page.locator('[data-breaker="ollama-cpu"][data-state="forced_open"]').waitFor();
      expect(full.sidecar.breakers()[1]!.state).toBe('forced_open');

      const shot = join(scratch, 'admin-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      const png = await readFile(shot);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      if (process.env.BREAKWATER_UPDATE_SCREENSHOT === '1')
        await copyFile(shot, join(ROOT, 'docs', 'img', 'admin-page.png'));

      await page.locator('[data-breaker="ollama-cpu"] button[data-action="reset"]').click();
      await page.locator('[data-breaker="ollama-cpu"][data-state="closed"]').waitFor();
      expect(errors).toEqual([]);
    },
    PAGE_TEST_TIMEOUT_MS,
  );

  it.skipIf(!HAVE_CHROMIUM)(
    'asks for the admin token when a control call is refused',
    async () => {
      open.full = await startFull({ policy: (m, o) => `admin: { token: pagetoken }\n${basePolicy(m, o)}` });
      const full = open.full;
      const page = await (await browser()).newPage();
      page.on('dialog', (d) => void d.accept('pagetoken'));
      await page.goto(`${full.adminUrl}/`);
      await page.locator('[data-breaker="max-gpu"] button[data-action="open"]').click();
      await page.locator('[data-breaker="max-gpu"][data-state="forced_open"]').waitFor();
      expect(full.sidecar.breakers()[0]!.state).toBe('forced_open');
    },
    PAGE_TEST_TIMEOUT_MS,
  );

  it.skipIf(!HAVE_CHROMIUM)(
    'asks once for the token to read, then steers breakers, when the listener is not loopback',
    async () => {
      open.full = await startFull({
        policy: (m, o) =>
          `${basePolicy(m, o).replace('admin: 127.0.0.1:0', 'admin: 0.0.0.0:0')}admin: { token: readtoken }\n`,
      });
      const full = open.full;
      const page = await (await browser()).newPage();
      const asked: string[] = [];
      page.on('dialog', (d) => {
        asked.push(d.message());
        void d.accept('readtoken');
      });
      await page.goto(`${full.adminUrl}/`);
      await page.locator('[data-breaker="max-gpu"][data-state="closed"]').waitFor();
      await page.locator('[data-breaker="max-gpu"] button[data-action="open"]').click();
      await page.locator('[data-breaker="max-gpu"][data-state="forced_open"]').waitFor();
      await page.locator('[data-breaker="max-gpu"] button[data-action="reset"]').click();
      await page.locator('[data-breaker="max-gpu"][data-state="closed"]').waitFor();
      expect(full.sidecar.breakers()[0]!.state).toBe('closed');
      expect(asked).toEqual(['Admin token (admin.token)']);
    },
    PAGE_TEST_TIMEOUT_MS,
  );
});
