import { connect } from 'node:net';

/** A response read off a raw socket. */
export interface RawAnswer {
  readonly status: number;
  /** Header names lower-cased; the last value wins. */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  json(): { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

/** How long a raw exchange may take before the test fails, in ms. */
const RAW_TIMEOUT_MS = 10_000;

/**
 * Sends `head` (request line and header lines, without the blank line) and `body` on a fresh
 * connection to 127.0.0.1:`port` exactly as written — no Host, two Hosts, HTTP/1.0, anything —
 * adds `Connection: close` and reads the answer until the server closes.
 */
export function rawExchange(port: number, head: string[], body = ''): Promise<RawAnswer> {
  const text = [...head, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, '', body].join(
    '\r\n',
  );
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(RAW_TIMEOUT_MS, () => socket.destroy(new Error('raw exchange timed out')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const split = all.indexOf('\r\n\r\n');
      const lines = all.slice(0, split).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const colon = l.indexOf(':');
        headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
      }
      const rest = all.slice(split + 4);
      resolve({
        status,
        headers,
        body: rest,
        json: () => JSON.parse(rest) as ReturnType<RawAnswer['json']>,
      });
    });
    socket.write(text);
  });
}

/** `rawExchange` of one HTTP/1.1 request with the given header lines. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<RawAnswer> {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return rawExchange(port, [`${method} ${path} HTTP/1.1`, ...lines], body);
}
