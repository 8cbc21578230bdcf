import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/index.ts';
import { RouteTable, normalizeAuthority } from '../../src/proxy/index.ts';

const policy = parsePolicy(
  `
upstreams:
  max-gpu: { url: "http://max-serve:8000" }
  ollama-cpu: { url: "http://ollama:11434" }
routes:
  - name: native
    match: { pathPrefix: /api/ }
    chain: [ { upstream: ollama-cpu }, { degraded: {} } ]
  - name: chat
    match: { pathPrefix: /v1/ }
    chain: [ { upstream: max-gpu }, { upstream: ollama-cpu }, { cache: {} } ]
  - name: partner
    match: { pathPrefix: /, host: [ "llm.partner.example" ] }
    chain: [ { upstream: max-gpu } ]
`,
  { file: null, env: {} },
);

describe('RouteTable', () => {
  const table = new RouteTable(policy);

  it('takes the longest path prefix among host-agnostic routes', () => {
    expect(table.match(null, '/api/chat')?.route.name).toBe('native');
    expect(table.match(null, '/v1/chat/completions')?.route.name).toBe('chat');
    expect(table.match(null, '/other')).toBeNull();
  });

  it('prefers a route naming the host over a longer host-agnostic prefix', () => {
    expect(table.match('llm.partner.example:80', '/v1/chat/completions')?.route.name).toBe('partner');
  });

  it('starts the chain at the upstream the request was addressed to', () => {
    expect(table.match('ollama:11434', '/v1/chat/completions')).toMatchObject({ startIndex: 1 });
    expect(table.match('max-serve:8000', '/v1/chat/completions')).toMatchObject({ startIndex: 0 });
    expect(table.match('127.0.0.1:15001', '/v1/chat/completions')).toMatchObject({ startIndex: 0 });
  });

  it('knows only upstream authorities and route hosts', () => {
    expect(table.isKnownAuthority('max-serve:8000')).toBe(true);
    expect(table.isKnownAuthority('max-serve:9999')).toBe(false);
    expect(table.isKnownAuthority('llm.partner.example:443')).toBe(true);
    expect(table.isKnownAuthority('example.com:80')).toBe(false);
  });

  it('normalises authorities with default ports and IPv6 brackets', () => {
    expect(normalizeAuthority('Max-Serve')).toBe('max-serve:80');
    expect(normalizeAuthority('[::1]')).toBe('[::1]:80');
    expect(normalizeAuthority('[::1]:8000')).toBe('[::1]:8000');
    expect(normalizeAuthority('h', 'https')).toBe('h:443');
  });
});
