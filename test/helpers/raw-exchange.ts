import { connect } from 'node:net';

/** A response read off a raw socket. */
export interface RawAnswer {
  readonly status: number;
  /** Header names lower-cased; the last value wins. */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Everything the server sent, status line included ('' when it closed without a word). */
  readonly raw: string;
  /** The body parsed as JSON (throws when it is not JSON). */
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
  const text = Buffer.from(
    [...head, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n'),
    'utf8',
  );
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve(parseAnswer(Buffer.concat(chunks).toString('utf8')));
    };
    socket.setTimeout(RAW_TIMEOUT_MS, () => socket.destroy(new Error('raw exchange timed out')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the answer arrived (the server closing while the request was still being
    // written) still counts as answered; a reset before any byte does not.
    socket.on('error', (err) => (chunks.length > 0 ? finish() : reject(err)));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.write(text);
  });
}

function parseAnswer(all: string): RawAnswer {
  const split = all.indexOf('\r\n\r\n');
  const lines = (split === -1 ? all : all.slice(0, split)).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(':');
    if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
  }
  const body = split === -1 ? '' : all.slice(split + 4);
  return {
    status,
    headers,
    body,
    raw: all,
    json: () => JSON.parse(body) as ReturnType<RawAnswer['json']>,
  };
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
