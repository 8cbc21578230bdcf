import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { browserPerTest, HAVE_CHROMIUM } from '../helpers/chromium.ts';
import { findRedis } from '../helpers/redis.ts';
import { ROOT, basePolicy, chat, startFull, type Full } from '../sidecar/helpers.ts';
import { groupName } from './helpers.ts';

const redis = await findRedis();
afterAll(async () => {
  await redis?.close();
});

const { dir, browser } = browserPerTest('bw-fleet-page-', { width: 1280, height: 900 });
const open: { fulls: Full[] } = { fulls: [] };

afterEach(async () => {
  await Promise.all(open.fulls.map((f) => f.close()));
  open.fulls = [];
});

describe('admin page fleet view', () => {
  it.skipIf(!HAVE_CHROMIUM || redis === null)(
    'shows every pod of the group and forces an upstream open for the fleet from its button',
    async () => {
      const group = groupName();
      open.fulls = await Promise.all(
        ['pod-a', 'pod-b'].map((pod) =>
          startFull({
            policy: (m, o) =>
              `${basePolicy(m, o)}fleet: { redis: "${redis!.url}", group: ${group}, podId: ${pod}, heartbeat: 200ms }\n`,
          }),
        ),
      );
      const [a, b] = open.fulls as [Full, Full];
      for (let i = 0; i < 3; i++) await chat(a.proxyUrl);
      const page = await (await browser()).newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${a.adminUrl}/`);
      await page.locator('#fleet[data-store="connected"]').waitFor();
      await page.locator('#fleet-pods tr[data-pod="pod-b"][data-upstream="max-gpu"]').waitFor();
      await page.locator('#fleet-pods tr[data-pod="pod-a"][data-upstream="ollama-cpu"]').waitFor();
      await page
        .locator('#fleet-groups tr[data-fleet-upstream="max-gpu"] button[data-fleet-action="open"]')
        .click();
      await page
        .locator('#fleet-groups tr[data-fleet-upstream="max-gpu"][data-state="forced_open"]')
        .waitFor();
      await page
        .locator('#fleet-pods tr[data-pod="pod-b"][data-upstream="max-gpu"][data-state="forced_open"]')
        .waitFor();
      expect(b.sidecar.upstream('max-gpu')!.breaker.snapshot().trip_reason).toBe(
        'forced open for the fleet by the admin page via pod-a: forced open from the admin page',
      );
      const shot = join(await dir(), 'fleet-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect((await readFile(shot)).subarray(1, 4).toString()).toBe('PNG');
      if (process.env.BREAKWATER_UPDATE_SCREENSHOT === '1')
        await copyFile(shot, join(ROOT, 'docs', 'img', 'fleet-page.png'));
      await page
        .locator('#fleet-groups tr[data-fleet-upstream="max-gpu"] button[data-fleet-action="reset"]')
        .click();
      await page
        .locator('#fleet-pods tr[data-pod="pod-b"][data-upstream="max-gpu"][data-state="closed"]')
        .waitFor();
      expect(errors).toEqual([]);
    },
  );

  it.skipIf(!HAVE_CHROMIUM)('keeps the fleet view hidden when fleet mode is off', async () => {
    const full = await startFull();
    open.fulls = [full];
    const page = await (await browser()).newPage();
    await page.goto(`${full.adminUrl}/`);
    await page.locator('[data-breaker="max-gpu"]').waitFor();
    await expect.poll(() => page.locator('#fleet').isHidden()).toBe(true);
    await expect.poll(async () => (await page.locator('#fleet-meta').textContent()) ?? '').toBe('');
  });
});
