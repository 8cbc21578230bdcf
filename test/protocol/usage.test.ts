import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { USAGE_TAIL_BYTES, answerUsage, ollamaUsage, openAiUsage } from '../../src/protocol/index.ts';

const b = (s: string): Buffer => Buffer.from(s);

describe('openAiUsage', () => {
  it('reads prompt and completion tokens of a chat answer', () => {
    const body = {
      id: 'c1',
      choices: [{ message: { role: 'assistant', content: 'say "usage": {"prompt_tokens": 99}' } }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 34,
        total_tokens: 46,
        prompt_tokens_details: { cached_tokens: 3 },
      },
    };
    expect(openAiUsage(b(JSON.stringify(body, null, 2)))).toEqual({ prompt: 12, completion: 34 });
  });

  it('takes the last usage of a stream tail when earlier chunks carry null', () => {
    const tail =
      'data: {"choices":[{"delta":{"content":"x"}}],"usage":null}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}}\n\n' +
      'data: [DONE]\n\n';
    expect(openAiUsage(b(tail))).toEqual({ prompt: 5, completion: 7 });
  });

  it('reads embeddings usage, which has no completion side', () => {
    expect(openAiUsage(b('{"data":[],"usage":{"prompt_tokens":8,"total_tokens":8}}'))).toEqual({
      prompt: 8,
      completion: null,
    });
  });

  it.each([
    ['absent', '{"choices":[]}'],
    ['null', '{"usage":null}'],
    ['a string', '{"usage":"many"}'],
    ['negative', '{"usage":{"prompt_tokens":-1,"completion_tokens":-2}}'],
    ['fractional', '{"usage":{"prompt_tokens":1.5}}'],
    ['cut short', '{"usage":{"prompt_tokens":3,"completion'],
    ['not JSON inside', '{"usage":{prompt_tokens:3}}'],
    ['empty object', '{"usage":{}}'],
  ])('is null when usage is %s', (_name, text) => {
    expect(openAiUsage(b(text))).toBeNull();
  });

  it('never throws and never answers garbage, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 100 }), (bytes, s) => {
        for (const buf of [Buffer.from(bytes), b(`{"usage":${s}}`)]) {
          const u = openAiUsage(buf);
          if (u !== null) {
            for (const v of [u.prompt, u.completion]) if (v !== null) expect(Number.isInteger(v)).toBe(true);
          }
        }
      }),
    );
  });

  it('gives up on a usage object longer than its bound instead of scanning on', () => {
    const big = `{"usage":{"prompt_tokens":1,"pad":"${'x'.repeat(5000)}","completion_tokens":2}}`;
    expect(openAiUsage(b(big))).toBeNull();
  });
});

describe('ollamaUsage', () => {
  it('reads prompt_eval_count and eval_count of a done record', () => {
    const rec =
      '{"model":"llama3.1:8b","done":true,"prompt_eval_count":26,"eval_count":298,"eval_duration":4799921000}';
    expect(ollamaUsage(b(rec))).toEqual({ prompt: 26, completion: 298 });
  });

  it('does not take prompt_eval_count for eval_count when only the prompt side is reported', () => {
    expect(ollamaUsage(b('{"embeddings":[[0.1]],"prompt_eval_count": 4}'))).toEqual({
      prompt: 4,
      completion: null,
    });
  });

  it.each([
    ['absent', '{"done":true}'],
    ['a string', '{"prompt_eval_count":"4","eval_count":"5"}'],
    ['fractional', '{"eval_count":5.5}'],
    ['exponent', '{"eval_count":5e3}'],
    ['too long', '{"eval_count":123456789012}'],
  ])('is null when the counts are %s', (_name, text) => {
    expect(ollamaUsage(b(text))).toBeNull();
  });
});

describe('answerUsage', () => {
  it('picks the reader of the protocol', () => {
    const both = b(
      '{"usage":{"prompt_tokens":1,"completion_tokens":2},"prompt_eval_count":3,"eval_count":4}',
    );
    expect(answerUsage('openai', both)).toEqual({ prompt: 1, completion: 2 });
    expect(answerUsage('ollama', both)).toEqual({ prompt: 3, completion: 4 });
  });

  it('reads the usage at the end of an answer far larger than the tail it searches', () => {
    const vector = Array.from({ length: 20_000 }, (_, i) => (i % 7) / 10).join(',');
    const openai = b(`{"data":[{"embedding":[${vector}]}],"usage":{"prompt_tokens":8,"total_tokens":8}}`);
    expect(openai.length).toBeGreaterThan(USAGE_TAIL_BYTES * 4);
    expect(answerUsage('openai', openai)).toEqual({ prompt: 8, completion: null });
    const ollama = b(`{"embeddings":[[${vector}]],"total_duration":1,"prompt_eval_count":9}`);
    expect(answerUsage('ollama', ollama)).toEqual({ prompt: 9, completion: null });
  });

  it('does not search further back than its tail when usage comes first in a large answer', () => {
    const pad = 'x'.repeat(USAGE_TAIL_BYTES);
    const early = b(`{"usage":{"prompt_tokens":1,"completion_tokens":2},"choices":[{"text":"${pad}"}]}`);
    expect(openAiUsage(early)).toEqual({ prompt: 1, completion: 2 });
    expect(answerUsage('openai', early)).toBeNull();
  });
});
