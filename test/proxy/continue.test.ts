import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack | null = null;
let extra: Server | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
  if (extra) await new Promise<void>((r) => extra!.close(() => r()));
  extra = null;
});

const policy =
  (opts: { continueFlag: boolean; primary?: string }) =>
  (max: string, ollama: string): string => `
listen: { proxy: 127.0.0.1:0 }
upstreams:
  max-gpu: { url: ${opts.primary ?? max}, timeout: { firstByte: 1s, idle: 300ms } }
  ollama-cpu: { url: ${ollama}, timeout: { firstByte: 1s, idle: 300ms } }
routes:
  - name: chat
    match: { pathPrefix: / }
    chain:
      - upstream: max-gpu
        continueOnNextTier: ${opts.continueFlag}
      - upstream: ollama-cpu
      - degraded: {}
`;

async function streamText(s: Stack): Promise<string> {
  const client = new OpenAI({ baseURL: `${s.proxyUrl}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'llama-3.1-8b',
    messages: [{ role: 'user', content: 'Hi' }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

describe('continueOnNextTier', () => {
  it('resumes a cut stream on the next tier with the partial text as assistant prefix', async () => {
    stack = await startStack({ policy: policy({ continueFlag: true }), max: { streamChunks: 8 } });
    await stack.max.setFault({ mode: 'reset-mid-stream', afterChunks: 4 });
    const text = await streamText(stack);
    const sent = stack.ollama.stats().last!.body as { messages: { role: string; content: string }[] };
    const prefix = sent.messages.at(-1)!;
    expect(prefix.role).toBe('assistant');
    expect(prefix.content.length).toBeGreaterThan(0);
    expect('Hello from mock-max (model llama-3.1-8b).'.startsWith(prefix.content)).toBe(true);
    expect(text.startsWith(prefix.content)).toBe(true);
    expect(text.slice(prefix.content.length)).toContain('mock-ollama');
    const max = stack.sidecar.breakers().find((b) => b.name === 'max-gpu')!;
    expect(max.snapshot()).toMatchObject({ total_failures: 1 });
  });

  it('raises in the SDK instead when the tier does not opt in', async () => {
    stack = await startStack({ policy: policy({ continueFlag: false }) });
    await stack.max.setFault({ mode: 'reset-mid-stream', afterChunks: 4 });
    await expect(streamText(stack)).rejects.toThrow(/failed mid-stream/);
    expect(stack.ollama.stats().requests).toBe(0);
  });

  it('never resumes a stream that carried a tool call', async () => {
    // An OpenAI-shaped upstream that streams a tool-call fragment, then drops the connection.
    extra = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = {
          id: 'c1',
          object: 'chat.completion.chunk',
          created: 1,
          model: 'm',
          choices: [
            {
              index: 0,
              delta: {
                role: 'assistant',
                tool_calls: [
                  { index: 0, id: 't1', type: 'function', function: { name: 'f', arguments: '{"a"' } },
                ],
              },
              finish_reason: null,
            },
          ],
        };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => res.destroy());
      });
    });
    await new Promise<void>((r) => extra!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(extra.address() as AddressInfo).port}`;
    stack = await startStack({ policy: policy({ continueFlag: true, primary: url }) });
    await expect(streamText(stack)).rejects.toThrow(/failed mid-stream/);
    expect(stack.ollama.stats().requests).toBe(0);
  });

  it('ends the stream with an error event when no upstream tier is left to continue', async () => {
    stack = await startStack({ policy: policy({ continueFlag: true }) });
    await stack.max.setFault({ mode: 'reset-mid-stream', afterChunks: 4 });
    await stack.ollama.setFault({ mode: 'refuse' });
    await expect(streamText(stack)).rejects.toThrow(/no tier could continue/);
  });
});
