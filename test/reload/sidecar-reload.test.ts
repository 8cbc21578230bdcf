import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { silentLogger } from '../../src/log/index.ts';
import { startMock, type MockServer } from '../../src/mock/index.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { ReloadResult } from '../../src/reload/index.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar/index.ts';
import { basePolicy, chat } from '../sidecar/helpers.ts';
import { ConfigMapDir, deferred } from './helpers.ts';

interface Rig {
  cm: ConfigMapDir;
  max: MockServer;
  ollama: MockServer;
  sidecar: Sidecar;
  proxyUrl: string;
  adminUrl: string;
  /** Resolves with the next reload attempt's result. */
  nextReload(): Promise<ReloadResult>;
}

let rig: Rig | null = null;
afterEach(async () => {
  if (rig) {
    await rig.sidecar.close();
    await Promise.all([rig.max.close(), rig.ollama.close()]);
    await rig.cm.remove();
  }
  rig = null;
});

const ollamaOnly = (max: string, ollama: string): string =>
  basePolicy(max, ollama).replace('      - upstream: max-gpu\n', '');

async function start(): Promise<Rig> {
  const max = await startMock({ kind: 'max' });
  const ollama = await startMock({ kind: 'ollama' });
  const cm = await ConfigMapDir.create(basePolicy(max.url, ollama.url));
  let next = deferred<ReloadResult>();
  const load = (f: string) => loadPolicyFile(f, { env: {} });
  const sidecar = await startSidecar({
    policy: await load(cm.file),
    logger: silentLogger(),
    loadPolicy: load,
    reloadDebounceMs: 20,
    reloadPollIntervalMs: 0,
    onReload: (r) => {
      const d = next;
      next = deferred();
      d.resolve(r);
    },
  });
  rig = {
    cm,
    max,
    ollama,
    sidecar,
    proxyUrl: `http://127.0.0.1:${sidecar.proxyAddresses[0]!.port}`,
    adminUrl: `http://127.0.0.1:${sidecar.adminAddress!.port}`,
    nextReload: () => next.promise,
  };
  return rig;
}

/**
 * Swaps the ConfigMap and resolves with the first reload that saw the new file. On a loaded
 * machine the short test debounce may fire between the steps of one swap; that reload finds the
 * old bytes (`unchanged`) and the next one sees the new file.
 */
async function reloadTo(r: Rig, text: string): Promise<ReloadResult> {
  let result = r.nextReload();
  await r.cm.update(text);
  for (let i = 0; i < 5; i++) {
    const res = await result;
    if (res.outcome !== 'unchanged') return res;
    result = r.nextReload();
  }
  throw new Error('the swap was never seen');
}

describe('policy reload in a running sidecar', () => {
  it('applies a ConfigMap swap and keeps the state of unchanged breakers', async () => {
    const r = await start();
    await r.max.setFault({ mode: 'status', status: 503 });
    await chat(r.proxyUrl);
    await chat(r.proxyUrl);
    expect(r.sidecar.breakers()[0]!.state).toBe('open');
    const oldSha = r.sidecar.policy.source.sha256;
    const result = await reloadTo(
      r,
      basePolicy(r.max.url, r.ollama.url).replace('idle: 2s }\n', 'idle: 3s }\n'),
    );
    expect(result.outcome).toBe('applied');
    expect(r.sidecar.policy.source.sha256).not.toBe(oldSha);
    expect(r.sidecar.breakers()[0]!.snapshot()).toMatchObject({ state: 'open', total_failures: 2 });
    const config = (await (await fetch(`${r.adminUrl}/config`)).json()) as Record<string, unknown>;
    expect(config.sha256).toBe(result.sha256);
    const metrics = await (await fetch(`${r.adminUrl}/metrics`)).text();
    expect(metrics).toContain('breakwater_config_reloads_total{result="success"} 1');
  });

  it('keeps the last good policy and shows the error on /config when the new file is invalid', async () => {
    const r = await start();
    const good = r.sidecar.policy;
    const result = await reloadTo(r, `${basePolicy(r.max.url, r.ollama.url)}bogus: 1\n`);
    expect(result.outcome).toBe('failed');
    expect(r.sidecar.policy).toBe(good);
    const config = (await (await fetch(`${r.adminUrl}/config`)).json()) as {
      sha256: string;
      last_reload_error: { message: string; problems: { path: string; line: number }[] };
    };
    expect(config.sha256).toBe(good.source.sha256);
    expect(config.last_reload_error.problems[0]).toMatchObject({ path: 'bogus' });
    expect(config.last_reload_error.message).toContain(`${r.cm.file}:`);
    const metrics = await (await fetch(`${r.adminUrl}/metrics`)).text();
    expect(metrics).toContain('breakwater_config_reloads_total{result="failure"} 1');
    expect((await chat(r.proxyUrl)).headers.get('x-breakwater-tier')).toBe('max-gpu');
  });

  it('lets an in-flight stream finish on the policy it started with', async () => {
    const r = await start();
    r.max.configure({ chunkDelayMs: 40, streamChunks: 8 });
    const stream = await chat(r.proxyUrl, { stream: true });
    expect(stream.headers.get('x-breakwater-tier')).toBe('max-gpu');
    const reader = stream.body!.getReader();
    onTestFinished(() => reader.cancel());
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect((await reloadTo(r, ollamaOnly(r.max.url, r.ollama.url))).outcome).toBe('applied');
    expect((await chat(r.proxyUrl)).headers.get('x-breakwater-tier')).toBe('ollama-cpu');
    let text = Buffer.from(first.value).toString();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('re-reads the file on demand like SIGHUP', async () => {
    const r = await start();
    const result = await r.sidecar.reload('signal');
    expect(result).toMatchObject({ outcome: 'unchanged', trigger: 'signal' });
  });
});
