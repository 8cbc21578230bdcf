import { request, type Agent } from 'node:http';

/** One call on a raw keep-alive connection, followed byte by byte. */
export interface OpenCall {
  /** Resolves with the status once the response headers arrived; rejects when none came. */
  readonly headers: Promise<number>;
  /** Resolves once the first body bytes arrived (a stream's first event). */
  readonly firstData: Promise<void>;
  /** Settles when the body ended or broke off; never rejects. */
  readonly done: Promise<{ status: number | null; body: string; error: string | null; endedAtMs: number }>;
}

/** POSTs `body` to `url` on `agent` and follows the answer without interpreting it. */
export function openCall(url: string, agent: Agent, body: unknown, timeoutMs: number): OpenCall {
  const payload = JSON.stringify(body);
  let status: number | null = null;
  let text = '';
  let onHeaders!: (s: number) => void;
  let onFirst!: () => void;
  let failHeaders!: (e: Error) => void;
  const headers = new Promise<number>((resolve, reject) => {
    onHeaders = resolve;
    failHeaders = reject;
  });
  const firstData = new Promise<void>((resolve) => (onFirst = resolve));
  const done = new Promise<{ status: number | null; body: string; error: string | null; endedAtMs: number }>(
    (resolve) => {
      let settled = false;
      const finish = (error: string | null): void => {
        if (settled) return;
        settled = true;
        if (status === null) failHeaders(new Error(error ?? 'no response'));
        resolve({ status, body: text, error, endedAtMs: Date.now() });
      };
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          status = res.statusCode ?? 0;
          onHeaders(status);
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
            onFirst();
          });
          res.on('end', () => finish(null));
          res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
          res.on('aborted', () => finish('aborted'));
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
      req.end(payload);
    },
  );
  // The headers promise may reject with nobody listening when a test only awaits `done`.
  headers.catch(() => undefined);
  return { headers, firstData, done };
}

/** True when an SSE body ended with `data: [DONE]` and carried no error event. */
export function sseEndedWell(body: string): boolean {
  return body.trimEnd().endsWith('data: [DONE]') && !body.includes('"error"');
}
