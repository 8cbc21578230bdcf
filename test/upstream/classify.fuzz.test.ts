import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailureKind } from '../../src/breaker/index.ts';
import { Framing, framingOf } from '../../src/protocol/index.ts';
import { assistantPiece, classifyError } from '../../src/upstream/index.ts';

const CONNECT_CODES = [
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
];
const OTHER_CODES = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_ABORTED', 'ETIMEDOUT', ''];

/** The same text with each letter's case flipped at random (media types are case-insensitive, RFC 9110 §8.3.1). */
const mixedCase = (text: string): fc.Arbitrary<string> =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((flips) => [...text].map((c, i) => (flips[i] ? c.toUpperCase() : c)).join(''));

const parameters = fc.constantFrom('', '; charset=utf-8', ';charset=UTF-8', ' ; q=1', ';');

describe('framingOf (property)', () => {
  it('never throws and answers SSE, NDJSON or null', () => {
    const header = fc.oneof(
      fc.constant(undefined),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(header, (ct) => {
        expect([Framing.SSE, Framing.NDJSON, null]).toContain(framingOf(ct));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the media type whatever its case and parameters', () => {
    const cases: [string, Framing | null][] = [
      ['text/event-stream', Framing.SSE],
      ['application/x-ndjson', Framing.NDJSON],
      ['application/json', null],
      ['text/plain', null],
    ];
    fc.assert(
      fc.property(
        fc
          .constantFrom(...cases)
          .chain(([type, framing]) => fc.tuple(mixedCase(type), parameters, fc.constant(framing))),
        ([type, params, framing]) => {
          expect(framingOf(type + params)).toBe(framing);
          expect(framingOf([type + params])).toBe(framing);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('does not take a longer media type for a stream', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('text/event-stream', 'application/x-ndjson'),
        fc.stringMatching(/^[a-z0-9+.-]{1,10}$/),
        (type, tail) => framingOf(type + tail) === null,
      ),
      { numRuns: 300 },
    );
  });
});

describe('classifyError (property)', () => {
  it('never throws and answers connect exactly for the connect codes, reset otherwise', () => {
    const code = fc.oneof(fc.constantFrom(...CONNECT_CODES, ...OTHER_CODES), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(code, fc.string({ unit: 'binary', maxLength: 80 }), fc.boolean(), (c, message, prefix) => {
        const err = Object.assign(
          new Error(prefix ? `connect ${message}` : message),
          c === '' ? {} : { code: c },
        );
        const f = classifyError(err);
        expect(f.kind).toBe(CONNECT_CODES.includes(c) ? FailureKind.CONNECT : FailureKind.RESET);
        expect(typeof f.message).toBe('string');
        expect(f.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('assistantPiece (property)', () => {
  it('never throws on any event and answers a string, or null for a tool call', () => {
    fc.assert(
      fc.property(fc.constantFrom(Framing.SSE, Framing.NDJSON), fc.anything(), (framing, event) => {
        const piece = assistantPiece(framing, event);
        expect(piece === null || typeof piece === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives back the text of a well-formed chunk in either protocol', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        expect(assistantPiece(Framing.SSE, { choices: [{ delta: { content: text } }] })).toBe(text);
        expect(assistantPiece(Framing.NDJSON, { message: { role: 'assistant', content: text } })).toBe(text);
        expect(assistantPiece(Framing.SSE, { choices: [{ delta: { tool_calls: [{}] } }] })).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
