import type { Server } from 'node:http';
import { listenOrFail } from '../net/index.ts';
import type { ParsedBody } from './route.ts';

/** Parses a request body once; a failure keeps what the error messages need. */
export function parseBody(raw: Buffer): ParsedBody {
  if (raw.length === 0) return { ok: false, empty: true, firstChar: '' };
  const text = raw.toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, empty: false, firstChar: text.trimStart().charAt(0) };
  }
}

/** The path of a request target, without the query string. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Binds `server`; resolves with the bound port, rejects with `BW_ERR_LISTEN_FAILED`. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  return (await listenOrFail(server, host, port)).port;
}

/** Closes `server` and every connection it holds; resolves at once when it is not listening. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
