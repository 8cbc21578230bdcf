import { z } from 'zod';
import type { ListenAddress } from './types.ts';
import type { KeyPath } from './locate.ts';
import { parseDuration, parseFraction, parseListenAddress, parseSize } from './units.ts';

/** Outcome of reading one value: the final value, or a message starting `expected ...`. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly at?: KeyPath };

/** How to read one kind of value from YAML; `expected` is the message when it is missing or wrong. */
export interface Kind<T> {
  readonly expected: string;
  parse(value: unknown): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string, at?: KeyPath): Parsed<T> =>
  at ? { ok: false, message, at } : { ok: false, message };

function kind<T>(expected: string, read: (value: unknown) => T | undefined): Kind<T> {
  return {
    expected,
    parse: (value) => {
      const out = read(value);
      return out === undefined ? fail(expected) : ok(out);
    },
  };
}

function field<T>(k: Kind<T>, absent: () => Parsed<T>) {
  // `.optional()` first: zod 4 runs a transform on an absent key only for optional-input schemas.
  return z
    .unknown()
    .optional()
    .transform((value, ctx): T => {
      const r = value === undefined ? absent() : k.parse(value);
      if (r.ok) return r.value;
      ctx.addIssue({ code: 'custom', message: r.message, input: value, path: r.at ? [...r.at] : [] });
      return z.NEVER;
    });
}

/** A key that must be present. */
export const required = <T>(k: Kind<T>) => field(k, () => fail(k.expected));
/** A key that may be absent (`undefined` then). */
export const optional = <T>(k: Kind<T>) => field<T | undefined>(k, () => ok(undefined));
/** A key with a default, written as in YAML (`'30s'`) and read by the same kind, so docs and code agree. */
export const withDefault = <T>(k: Kind<T>, yamlDefault: unknown) => field(k, () => k.parse(yamlDefault));

/** Accepts null (meaning "not set") besides the kind's own values. */
export function nullable<T>(k: Kind<T>): Kind<T | null> {
  return { expected: `${k.expected} or null`, parse: (v) => (v === null ? ok(null) : k.parse(v)) };
}

const DURATION_EXPECTED = 'expected a duration with a unit (250ms, 5s, 1m, 1h)';
/** `250ms`, `5s`, `1.5s`, `1m`, `1h`, `1m30s` → ms. A bare number is an error that says units are required. */
export const duration: Kind<number> = {
  expected: DURATION_EXPECTED,
  parse(v) {
    const ms = typeof v === 'string' ? parseDuration(v) : null;
    if (ms !== null) return ok(ms);
    if (typeof v === 'number') {
      return fail(`${DURATION_EXPECTED}, got ${v}: a bare number is not a duration, units are required`);
    }
    return fail(DURATION_EXPECTED);
  },
};

/** A duration of at least `minMs` (`heartbeat`, `leaseTtl`: a shorter one would flood the store). */
export function atLeastMs(minMs: number): Kind<number> {
  const expected = `${DURATION_EXPECTED} of at least ${minMs}ms`;
  return {
    expected,
    parse(v) {
      const r = duration.parse(v);
      return !r.ok || r.value >= minMs ? r : fail(expected);
    },
  };
}

/** `100B`, `512KiB`, `1MiB`, `1GiB`, `1MB` → bytes (at least 1). */
export const size = kind('expected a size with a unit (100B, 512KiB, 1MiB, 1GiB, 1MB)', (v) => {
  const bytes = typeof v === 'string' ? parseSize(v) : null;
  return bytes !== null && bytes > 0 ? bytes : undefined;
});

/** An integer in [min, max]. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER): Kind<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
  return kind(`expected an integer ${range}`, (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined,
  );
}

/** A finite number ≥ min. */
export function atLeast(min: number): Kind<number> {
  return kind(`expected a number ≥ ${min}`, (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min ? v : undefined,
  );
}

/** `10%` or `0.1` → 0.1; from 0 to 1 (exclusive of 0 when `positive`). */
export function fraction(positive: boolean): Kind<number> {
  const range = positive ? '0 < x ≤ 1' : '0 ≤ x ≤ 1';
  return kind(`expected a percentage (50%) or a fraction (${range})`, (v) => {
    const n = parseFraction(v);
    return n === null || (positive && n === 0) ? undefined : n;
  });
}

/** `true` or `false` (YAML booleans, not strings). */
export const bool = kind('expected true or false', (v) => (typeof v === 'boolean' ? v : undefined));

/** A string that is not empty or blank. */
export const text = kind('expected a non-empty string', (v) =>
  typeof v === 'string' && v.trim() !== '' ? v : undefined,
);

/** A token or secret: an empty string means none (so `${TOKEN:-}` can leave it unset). */
export const secret = kind('expected a string', (v) =>
  typeof v === 'string' ? (v === '' ? null : v) : v === null ? null : undefined,
);

/** One of a fixed list of strings. */
export function oneOf<const T extends readonly string[]>(values: T): Kind<T[number]> {
  return kind(`expected one of ${values.join(', ')}`, (v) =>
    values.includes(v as string) ? (v as T[number]) : undefined,
  );
}

/** Names of upstreams and routes: they appear in headers, metric labels and the CLI. */
export const name = kind(
  'expected a name of letters, digits, ".", "_" or "-" that starts with a letter (at most 63)',
  (v) => (typeof v === 'string' && /^[A-Za-z][A-Za-z0-9._-]{0,62}$/.test(v) ? v : undefined),
);

/** A pod's id in a fleet group: a Kubernetes pod name or a hostname (at most 253 characters). */
export const podId = kind('expected a pod id of letters, digits, ".", "_" or "-" (at most 253)', (v) =>
  typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(v) ? v : undefined,
);

/** `/`-rooted path without query or fragment. */
export const path = kind('expected a path starting with "/"', (v) =>
  typeof v === 'string' && /^\/[^\s?#]*$/.test(v) ? v : undefined,
);

/** A listen address, `host:port` (IPv6 in brackets). */
export const address = kind<ListenAddress>('expected "host:port" (IPv6 as "[::1]:15001")', (v) =>
  typeof v === 'string' ? (parseListenAddress(v) ?? undefined) : undefined,
);

/** One `host:port` or a non-empty list of them. */
export const addressList: Kind<ListenAddress[]> = {
  expected: `${address.expected}, or a list of them`,
  parse(v) {
    if (!Array.isArray(v)) {
      const one = address.parse(v);
      return one.ok ? ok([one.value]) : fail(addressList.expected);
    }
    if (v.length === 0) return fail(addressList.expected);
    const out: ListenAddress[] = [];
    for (const [i, item] of v.entries()) {
      const one = address.parse(item);
      if (!one.ok) return fail(address.expected, [i]);
      out.push(one.value);
    }
    return ok(out);
  },
};

/** A list of HTTP statuses (100–599), without duplicates. */
export const statusList: Kind<number[]> = {
  expected: 'expected a list of HTTP statuses (100–599)',
  parse(v) {
    if (!Array.isArray(v)) return fail(statusList.expected);
    const status = int(100, 599);
    for (const [i, item] of v.entries()) {
      if (!status.parse(item).ok) return fail(status.expected, [i]);
    }
    return ok([...new Set(v as number[])]);
  },
};

const HOST_RE = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/** `match.host`: one `host` / `host:port` or a list; lower-cased. null = any host. */
export const hosts: Kind<string[] | null> = {
  expected: 'expected a host or "host:port", or a list of them',
  parse(v) {
    if (v === null) return ok(null);
    const list: unknown[] = Array.isArray(v) ? v : [v];
    if (list.length === 0) return fail(hosts.expected);
    const out: string[] = [];
    for (const [i, item] of list.entries()) {
      const host = typeof item === 'string' ? item.trim().toLowerCase() : '';
      if (!HOST_RE.test(host)) return fail('expected a host or "host:port"', Array.isArray(v) ? [i] : []);
      out.push(host);
    }
    return ok(out);
  },
};

/** A mapping of non-empty strings to non-empty strings (`models`). */
export function stringMap(expected: string): Kind<Record<string, string>> {
  return {
    expected,
    parse(v) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(expected);
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(v)) {
        if (key === '' || !text.parse(value).ok) return fail(text.expected, [key]);
        out[key] = value as string;
      }
      return ok(out);
    },
  };
}
