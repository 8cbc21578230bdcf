import type { ListenAddress } from '../policy/index.ts';

/** Parses `host:port[,host:port…]` (IPv6 as `[::1]:15001`); throws a readable Error on bad input. */
export function parseListenList(text: string): ListenAddress[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item) => {
      const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(item);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port > 65535) throw new Error(`expected host:port, got ${JSON.stringify(item)}`);
      const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
      return { host, port };
    });
}
