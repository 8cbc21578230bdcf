import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** One response read off a raw socket. */
export interface WireResponse {
  readonly status: number;
  /** Header names lower-cased; repeated names joined with `, `. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What a raw exchange got: the responses parsed in order, and whether the server closed. */
export interface WireResult {
  readonly responses: WireResponse[];
  /** Bytes after the last whole response (a partial one, or garbage). */
  readonly rest: string;
  /** The server closed (or reset) the connection. */
  readonly closed: boolean;
  /** The socket error, when there was one (ECONNRESET when the server reset it). */
  readonly error: string | null;
}

/** Parses as many whole HTTP/1.1 responses as `text` holds (content-length or chunked bodies). */
export function parseResponses(text: string): { responses: WireResponse[]; rest: string } {
  const responses: WireResponse[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = text.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
    if (Number.isNaN(status)) break;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let p = end + 4;
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      let complete = false;
      for (;;) {
        const eol = text.indexOf('\r\n', p);
        if (eol === -1) break;
        const size = parseInt(text.slice(p, eol), 16);
        if (size === 0) {
          if (text.length < eol + 4) break;
          p = eol + 4;
          complete = true;
          break;
        }
        if (text.length < eol + 2 + size + 2) break;
        body += text.slice(eol + 2, eol + 2 + size);
        p = eol + 2 + size + 2;
      }
      if (!complete) break;
    } else {
      const len = Number(headers['content-length'] ?? 0);
      if (text.length < p + len) break;
      body = text.slice(p, p + len);
      p += len;
    }
    responses.push({ status, headers, body });
    at = p;
  }
  return { responses, rest: text.slice(at) };
}

export interface ExchangeOptions {
  /** Resolve once this many whole responses arrived, without waiting for the close. */
  readonly responses?: number;
  /** Give up (destroy the socket and resolve) after this long, ms. Default 10 000. */
  readonly timeoutMs?: number;
}

/**
 * Writes `data` on a fresh connection to 127.0.0.1:`port` (in one write, or one write per item)
 * and collects what comes back until the server closes, `responses` arrived, or the timeout.
 */
export function exchange(
  port: number,
  data: string | Buffer | readonly string[],
  options: ExchangeOptions = {},
): Promise<WireResult> {
  return new Promise((resolve) => {
    let text = '';
    let error: string | null = null;
    let settled = false;
    const sock = connect(port, '127.0.0.1');
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseResponses(text), closed, error });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
    sock.setEncoding('latin1');
    sock.on('connect', () => {
      if (Buffer.isBuffer(data)) sock.write(data);
      else for (const d of typeof data === 'string' ? [data] : data) sock.write(d, 'latin1');
    });
    sock.on('data', (c: string) => {
      text += c;
      const want = options.responses;
      if (want !== undefined && parseResponses(text).responses.length >= want) finish(false);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    sock.on('close', () => finish(true));
  });
}

/** Opens a connection and writes `data` without waiting for anything (a slow or stuck client). */
export function openPartial(port: number, data: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.write(data);
      resolve(sock);
    });
    sock.on('error', reject);
  });
}

/** One request as a test upstream received it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

/** A plain HTTP server on 127.0.0.1:0 that records each request and answers with `reply`. */
export interface TestUpstream {
  readonly url: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startUpstream(
  reply: (req: SeenRequest, res: ServerResponse) => void,
): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      };
      seen.push(r);
      reply(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
