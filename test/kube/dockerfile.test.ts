import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIDECAR_UID } from '../../src/kube/index.ts';
import { ROOT } from './tools.ts';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name: string | null;
  readonly body: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return logical.map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(' ') };
  });
}

/** Stages with `${ARG}` defaults of the global ARGs substituted in FROM. */
function stages(list: Instruction[]): Stage[] {
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const ins of list) {
    if (ins.op === 'ARG' && out.length === 0) {
      const [k, v] = ins.args.split('=');
      args.set(k!, v ?? '');
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const from = m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '');
      out.push({ from, name: m[2] ?? null, body: [] });
    } else {
      out.at(-1)?.body.push(ins);
    }
  }
  return out;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const all = stages(instructions(dockerfile));
const runtime = all.at(-1)!;
const byName = (name: string): Stage => all.find((s) => s.name === name)!;
const ops = (stage: Stage, op: string): string[] => stage.body.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('builds in one stage and runs on Node 24 distroless or slim when read stage by stage', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(runtime.from).toMatch(/^(gcr\.io\/distroless\/nodejs24-debian\d+|node:24[.\w-]*-slim)(:|$)/);
    expect(all.slice(0, -1).every((s) => s.name !== null)).toBe(true);
    const build = byName('build');
    expect(ops(build, 'RUN')).toContain('npm run build');
  });

  it('runs as a numeric non-root user when the runtime stage sets USER', () => {
    const users = ops(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(gid === undefined || /^\d+$/.test(gid)).toBe(true);
    expect(Number(uid)).toBe(SIDECAR_UID); // inject's runAsUser must match the image
  });

  it('declares STOPSIGNAL SIGTERM, the three ports, the policy path and the entrypoint', () => {
    expect(ops(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM']);
    const ports = ops(runtime, 'EXPOSE').flatMap((a) => a.split(/\s+/));
    expect(ports).toEqual(expect.arrayContaining(['15000', '15001', '15021']));
    expect(ops(runtime, 'ENV').join(' ')).toContain('BREAKWATER_CONFIG=/etc/breakwater/policy.yaml');
    const [entrypoint] = ops(runtime, 'ENTRYPOINT');
    const argv = JSON.parse(entrypoint!) as string[];
    expect(argv[0]).toMatch(/\/node$/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(argv[1]).toBe(`/app/${pkg.bin['breakwater']}`);
    expect(JSON.parse(ops(runtime, 'CMD')[0]!)).toEqual(['run']);
  });

  it('has no HEALTHCHECK or one that asks the liveness endpoint', () => {
    for (const hc of all.flatMap((s) => ops(s, 'HEALTHCHECK'))) expect(hc).toMatch(/NONE|\/healthz\/live/);
  });

  it('ships production dependencies only when node_modules reaches the runtime stage', () => {
    const copies = ops(runtime, 'COPY');
    const modules = copies.filter((c) => c.includes('node_modules'));
    expect(modules).toHaveLength(1);
    const from = /--from=(\S+)/.exec(modules[0]!)![1]!;
    const installs = ops(byName(from), 'RUN').filter((r) => /npm (ci|install|i)\b/.test(r));
    expect(installs.length).toBeGreaterThan(0);
    for (const r of installs) expect(r).toMatch(/--omit=dev/);
    for (const r of installs) expect(r).toMatch(/--ignore-scripts/);
    // distroless has no shell: the runtime stage must not RUN anything
    expect(ops(runtime, 'RUN')).toEqual([]);
    expect(copies.some((c) => /--from=build\s+\/app\/dist\s/.test(c))).toBe(true);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    const sources = all
      .flatMap((s) => ops(s, 'COPY'))
      .filter((c) => !c.includes('--from='))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(allowed, src).toContain(src);
    }
  });
});
