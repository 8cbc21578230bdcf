import { isIPv6 } from 'node:net';

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MAX_PORT = 65_535;

/**
 * A reg-name or IPv4 character breakwater accepts in a host: letters, digits, `-`, `.`, `_`, `~`
 * (RFC 3986 unreserved). Stricter than RFC 3986, which also allows sub-delimiters and
 * percent-encoding in a reg-name: no upstream or route host needs them, and a `,` or `@` in an
 * authority is a sign of header joining or a userinfo trick.
 */
function isHostChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= DIGIT_0 && c <= DIGIT_9) ||
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

/** `digits` → the port, or -1 unless it is 1 to 5 digits ≤ 65535. */
function portOf(text: string): number {
  if (text.length === 0 || text.length > 5) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return -1;
    n = n * 10 + (c - DIGIT_0);
  }
  return n <= MAX_PORT ? n : -1;
}

/**
 * Parses an authority (`Host` value, absolute-form or CONNECT target) strictly (RFC 9112 §3.2:
 * a Host that is not a valid authority gets `400`): `host[:port]` where host is a name or IPv4
 * address of unreserved characters, or `[IPv6]`, and port is 1–5 digits up to 65535. Returns the
 * normalized `host:port` (lower-cased, `defaultPort` added when absent) or null when invalid —
 * userinfo (`a@b`), a second port (`host:8000:80`), an empty host or port.
 * `requirePort` (CONNECT's authority-form, RFC 9110 §9.3.6) refuses a missing port.
 */
export function parseAuthority(text: string, requirePort = false, defaultPort = 80): string | null {
  let hostEnd: number;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    hostEnd = text.indexOf(']');
    if (hostEnd === -1 || !isIPv6(text.slice(1, hostEnd))) return null;
    hostEnd += 1;
  } else {
    hostEnd = 0;
    while (hostEnd < text.length && isHostChar(text.charCodeAt(hostEnd))) hostEnd++;
    if (hostEnd === 0) return null;
  }
  const host = text.slice(0, hostEnd).toLowerCase();
  if (hostEnd === text.length) return requirePort ? null : `${host}:${defaultPort}`;
  if (text.charCodeAt(hostEnd) !== 0x3a /* : */) return null;
  const port = portOf(text.slice(hostEnd + 1));
  return port === -1 ? null : `${host}:${port}`;
}
