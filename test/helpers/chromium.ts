import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach } from 'vitest';

/** Debian's chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/**
 * A headless Chromium with a fresh profile under `dir` (a persistent context is how Playwright
 * takes a fresh --user-data-dir), its background traffic off. The caller closes it.
 */
export function launchChromium(
  dir: string,
  viewport: { width: number; height: number } = { width: 1180, height: 760 },
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A test's browser and its scratch folder, both gone after each test (`browserPerTest`). */
export interface TestBrowser {
  /** The scratch folder of the current test (created on first use): profile, policy files, shots. */
  readonly dir: () => Promise<string>;
  /** Launches Chromium with a fresh profile in `dir()`. */
  readonly browser: () => Promise<BrowserContext>;
}

/** Registers an `afterEach` that closes the test's browser and removes its folder (`prefix` names it). */
export function browserPerTest(prefix: string, viewport?: { width: number; height: number }): TestBrowser {
  let context: BrowserContext | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    await context?.close();
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    context = null;
    dir = null;
  });
  const scratch = async (): Promise<string> => (dir ??= await mkdtemp(join(tmpdir(), prefix)));
  return {
    dir: scratch,
    browser: async () => {
      context = await launchChromium(await scratch(), viewport);
      return context;
    },
  };
}
