import type { ListenAddress } from './types.ts';

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
type DurationUnit = keyof typeof DURATION_UNITS_MS;
// One or more `<number><unit>` parts, Go style: `250ms`, `1.5s`, `1m30s`.
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

const SIZE_UNITS_BYTES = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
} as const;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)$/;

/**
 * Parses a duration string (`250ms`, `5s`, `1.5s`, `1m`, `1h`, `1m30s`) into whole milliseconds
 * (rounded). Returns null when the text is not a duration; a bare number is not one (units are required).
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!DURATION_RE.test(trimmed)) return null;
  let totalMs = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART_RE)) {
    totalMs += Number(amount) * DURATION_UNITS_MS[unit as DurationUnit];
  }
  return Number.isFinite(totalMs) ? Math.round(totalMs) : null;
}

/**
 * Formats milliseconds as the shortest exact duration string that `parseDuration` reads back:
 * `1500` → `1s500ms`, `90000` → `1m30s`, `3600000` → `1h`, `0` → `0ms`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  let rest = Math.round(ms);
  if (rest === 0) return '0ms';
  let out = '';
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = DURATION_UNITS_MS[unit];
    const amount = Math.floor(rest / size);
    if (amount > 0) out += `${amount}${unit}`;
    rest -= amount * size;
  }
  return out;
}

/**
 * Parses a size (`100B`, `512KiB`, `1MiB`, `1GiB`; decimal `1KB`, `1MB`, `1GB`) into whole bytes.
 * Returns null when the text is not a size; a bare number is not one (units are required).
 */
export function parseSize(text: string): number | null {
  const match = SIZE_RE.exec(text.trim());
  if (!match) return null;
  const bytes = Number(match[1]) * SIZE_UNITS_BYTES[match[2] as keyof typeof SIZE_UNITS_BYTES];
  return Number.isFinite(bytes) ? Math.round(bytes) : null;
}

/** Formats bytes as the largest exact unit, binary first: `8388608` → `8MiB`, `1000000` → `1MB`, `100` → `100B`. */
export function formatSize(bytes: number): string {
  for (const unit of ['GiB', 'MiB', 'KiB', 'GB', 'MB', 'KB'] as const) {
    const size = SIZE_UNITS_BYTES[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/**
 * Parses a fraction written as a percentage (`50%`) or a number (`0.5`); returns a number in
 * [0, 1], or null when the value is neither.
 */
export function parseFraction(value: unknown): number | null {
  let n: number | null = null;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\d+(?:\.\d+)?%$/.test(value.trim())) {
    n = Number(value.trim().slice(0, -1)) / 100;
  }
  return n !== null && Number.isFinite(n) && n >= 0 && n <= 1 ? n : null;
}

/**
 * Parses a listen address `host:port`, with IPv6 in brackets (`[::1]:15001`). Port 0 means any free
 * port. Returns null when malformed.
 */
export function parseListenAddress(text: string): ListenAddress | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return null;
  const port = Number(match[3]);
  if (port > 65_535) return null;
  return { host: (match[1] ?? match[2] ?? '').toLowerCase(), port };
}

/** Formats a listen address back to `host:port` (`[::1]:15001` for IPv6). */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** True for hosts that only this machine can reach: `localhost`, 127.0.0.0/8, `::1`, `::ffff:127.x.y.z`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
