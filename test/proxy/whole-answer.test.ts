import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, defaultPolicy, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack | null = null;
let upstream: Server | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream = null;
});

async function chat(s: Stack): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${s.proxyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatBody()),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** An upstream answering every request with `body` as a 200 of `contentType`. */
async function fixedUpstream(contentType: string, body: string): Promise<string> {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': contentType }).end(body));
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
}

const breaker = (s: Stack, name: string) =>
  s.sidecar
    .breakers()
    .find((b) => b.name === name)!
    .snapshot();

describe('whole (non-stream) answers', () => {
  it('moves on to the next tier and counts a failure when a 200 JSON answer is cut short', async () => {
    stack = await startStack();
    // The mock's `malformed` non-stream answer: 200, content-length of the cut, half the JSON.
    await stack.max.setFault({ mode: 'malformed' });
    const r = await chat(stack);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-breakwater-tier')).toBe('ollama-cpu');
    expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=malformed');
    expect(JSON.parse(r.text)).toMatchObject({ object: 'chat.completion' });
    expect(breaker(stack, 'max-gpu')).toMatchObject({
      total_successes: 0,
      total_failures: 1,
      last_failure: { kind: 'malformed' },
    });
  });

  it('passes a complete JSON answer that is not an object between braces, unchanged', async () => {
    const body = '[{"object":"embedding","embedding":[0.5]}]\n';
    const url = await fixedUpstream('application/json; charset=utf-8', body);
    stack = await startStack({ policy: (_max, ollama) => defaultPolicy(url, ollama) });
    const r = await chat(stack);
    expect(r.headers.get('x-breakwater-tier')).toBe('max-gpu');
    expect(r.text).toBe(body);
    expect(breaker(stack, 'max-gpu')).toMatchObject({ total_successes: 1, total_failures: 0 });
  });

  it('counts a 200 labelled JSON whose body is not JSON as a failure of that tier', async () => {
    const url = await fixedUpstream('application/json', '<html>upstream gateway page</html>');
    stack = await startStack({ policy: (_max, ollama) => defaultPolicy(url, ollama) });
    const r = await chat(stack);
    expect(r.headers.get('x-breakwater-tier')).toBe('ollama-cpu');
    expect(r.headers.get('x-breakwater-skipped')).toBe('max-gpu=malformed');
  });
});
