import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Endpoint, Protocol, endpointOf, protocolOfPath } from '../../src/protocol/index.ts';
import { LLM_PATHS, methodArb, pathArb, queryArb } from '../helpers/request-arbitraries.ts';

const ENDPOINTS = new Set<string>(Object.values(Endpoint));
const OLLAMA_ENDPOINTS = new Set<string>([
  Endpoint.OLLAMA_CHAT,
  Endpoint.OLLAMA_GENERATE,
  Endpoint.OLLAMA_EMBED,
  Endpoint.OLLAMA_EMBEDDINGS,
]);
/** What each client path is, whatever prefix it sits behind (README "How requests are handled"). */
const EXPECTED: Record<(typeof LLM_PATHS)[number], Endpoint> = {
  '/v1/chat/completions': Endpoint.CHAT,
  '/v1/completions': Endpoint.COMPLETIONS,
  '/v1/embeddings': Endpoint.EMBEDDINGS,
  '/api/chat': Endpoint.OLLAMA_CHAT,
  '/api/generate': Endpoint.OLLAMA_GENERATE,
  '/api/embed': Endpoint.OLLAMA_EMBED,
  '/api/embeddings': Endpoint.OLLAMA_EMBEDDINGS,
};

const anyString = fc.oneof(pathArb, fc.string({ unit: 'binary', maxLength: 200 }));

describe('endpointOf (property)', () => {
  it('never throws and answers null or one of the documented endpoints in its own protocol', () => {
    fc.assert(
      fc.property(methodArb, anyString, (method, path) => {
        const ei = endpointOf(method, path);
        if (ei === null) return;
        expect(ENDPOINTS.has(ei.endpoint)).toBe(true);
        expect(ei.protocol).toBe(OLLAMA_ENDPOINTS.has(ei.endpoint) ? Protocol.OLLAMA : Protocol.OPENAI);
        expect(ei.degradable).toBe(ei.endpoint !== Endpoint.EMBEDDINGS && !ei.endpoint.includes('embed'));
        expect(Object.isFrozen(ei)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('classifies only POST: every other method is passed through', () => {
    fc.assert(
      fc.property(
        methodArb.filter((m) => m !== 'POST'),
        pathArb,
        (method, path) => endpointOf(method, path) === null,
      ),
      { numRuns: 1000 },
    );
  });

  it('finds each endpoint behind any path prefix', () => {
    fc.assert(
      fc.property(pathArb, fc.constantFrom(...LLM_PATHS), (prefix, known) => {
        const base = prefix === '/' ? '' : prefix;
        expect(endpointOf('POST', base + known)?.endpoint).toBe(EXPECTED[known]);
      }),
      { numRuns: 1000 },
    );
  });

  it('classifies a path with its query string cut off like the bare path', () => {
    // The proxy cuts the query at the first `?` before classifying (src/proxy/handler.ts).
    const cut = (target: string): string =>
      target.slice(0, (target.indexOf('?') + 1 || target.length + 1) - 1);
    fc.assert(
      fc.property(
        methodArb,
        pathArb.filter((p) => !p.includes('?')),
        queryArb,
        (method, path, query) => {
          expect(endpointOf(method, cut(`${path}?${query}`))).toBe(endpointOf(method, path));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('protocolOfPath (property)', () => {
  it('never throws and says Ollama exactly for /api/ paths', () => {
    fc.assert(
      fc.property(anyString, (path) => {
        expect(protocolOfPath(path)).toBe(path.startsWith('/api/') ? Protocol.OLLAMA : Protocol.OPENAI);
      }),
      { numRuns: 1000 },
    );
  });
});
