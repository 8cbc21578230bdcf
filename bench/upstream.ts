/**
 * The benchmark's upstream: a minimal OpenAI-shaped server answering a fixed chat completion
 * (JSON) or a 20-event SSE stream, as fast as Node's http allows, so that what the benchmark
 * measures is the proxy in front of it. Prints `{"port": N}` on stdout once listening.
 */
import { createServer } from 'node:http';

const EVENTS = 20;
const json = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(200) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 50, total_tokens: 60 },
});
const chunk = (content: string, finish: string | null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'bench', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
const sse =
  Array.from({ length: EVENTS }, (_, i) => chunk('tok' + i, i === EVENTS - 1 ? 'stop' : null)).join('') +
  'data: [DONE]\n\n';

const server = createServer((req, res) => {
  let stream = false;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (chunks.length > 0) stream = Buffer.concat(chunks).includes('"stream":true');
    if (req.url === '/health') {
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    if (stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(sse);
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(json)),
    });
    res.end(json);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
