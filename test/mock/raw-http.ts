import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

/** How a raw response finished. */
export interface RawOutcome {
  /** `end`: the body ended cleanly; `error`: the connection failed mid-body (reset, abort). */
  readonly outcome: 'end' | 'error';
  readonly code: string | null;
  readonly text: string;
}

/** A response read chunk by chunk, without any client-side interpretation. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Body received so far. */
  text(): string;
  /** Resolves with the body once `pred` holds for what has arrived. */
  waitFor(pred: (text: string) => boolean): Promise<string>;
  /** Settles when the body ends or the connection fails. */
  readonly done: Promise<RawOutcome>;
  /** Destroys the connection. */
  destroy(): void;
}

export interface RawRequestOptions {
  method?: string;
  path: string;
  body?: string;
  headers?: OutgoingHttpHeaders;
}

/**
 * Sends one request on a fresh connection (no agent). Resolves at the response headers; rejects
 * with the socket error (ECONNREFUSED, ECONNRESET…) when no response starts.
 */
export function rawRequest(baseUrl: string, opts: RawRequestOptions): Promise<RawResponse> {
  const url = new URL(opts.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        agent: false,
        headers: { 'content-type': 'application/json', ...opts.headers },
      },
      (res) => {
        let text = '';
        let waiters: { pred: (t: string) => boolean; resolve: (t: string) => void }[] = [];
        const wake = (): void => {
          const due = waiters.filter((w) => w.pred(text));
          waiters = waiters.filter((w) => !w.pred(text));
          for (const w of due) w.resolve(text);
        };
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          wake();
        });
        const done = new Promise<RawOutcome>((settle) => {
          res.on('end', () => settle({ outcome: 'end', code: null, text }));
          res.on('error', (e: NodeJS.ErrnoException) =>
            settle({ outcome: 'error', code: e.code ?? null, text }),
          );
        });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: () => text,
          waitFor: (pred) =>
            pred(text) ? Promise.resolve(text) : new Promise((r) => waiters.push({ pred, resolve: r })),
          done,
          destroy: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends a request and waits for the whole body. */
export async function rawFetch(
  baseUrl: string,
  opts: RawRequestOptions,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const res = await rawRequest(baseUrl, opts);
  const done = await res.done;
  return { status: res.status, headers: res.headers, text: done.text };
}

/** The SSE `data:` payloads of a body, in order. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => (e.startsWith('data: ') ? e.slice(6) : e));
}

/** The non-empty NDJSON lines of a body. */
export function ndjsonLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** A request that is received and answered, so everything the server did before has happened. */
export async function roundTrip(baseUrl: string): Promise<void> {
  await rawFetch(baseUrl, { path: '/_mock/stats' });
}

/** `JSON.parse` typed as the shape the test expects. */
export function parseAs<T>(text: string): T {
  return JSON.parse(text) as T;
}
