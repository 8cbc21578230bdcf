import { isIP } from 'node:net';
import { isLoopbackHost, type ListenAddress } from '../policy/index.ts';

/** A `Host` header split into its name (lower-cased; IPv6 without brackets) and port. */
export interface HostParts {
  readonly name: string;
  /** The name as written in a URL: IPv6 in brackets. */
  readonly authorityName: string;
  readonly port: number | null;
}

/** Longest `Host` value looked at, in characters (a DNS name is at most 253, plus `:65535`). */
export const MAX_HOST_CHARS = 260;

/** A DNS name or IPv4 literal: letters, digits, `-` and `.`, not starting or ending with `-`/`.`. */
const NAME_RE = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const PORT_RE = /^\d{1,5}$/;

function portOf(text: string): number | null | undefined {
  if (text === '') return null;
  if (!text.startsWith(':') || !PORT_RE.test(text.slice(1))) return undefined;
  const port = Number(text.slice(1));
  return port <= 65_535 ? port : undefined;
}

/**
 * Parses a `Host` header value (RFC 9110 §7.2: `uri-host [":" port]`); null when malformed —
 * empty, too long, a bare IPv6 address, a bad port, userinfo or any character a host cannot have.
 */
export function parseHost(value: string): HostParts | null {
  if (value.length === 0 || value.length > MAX_HOST_CHARS) return null;
  const v = value.toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end === -1) return null;
    const name = v.slice(1, end);
    const port = portOf(v.slice(end + 1));
    if (isIP(name) !== 6 || port === undefined) return null;
    return { name, authorityName: `[${name}]`, port };
  }
  const colon = v.indexOf(':');
  const name = colon === -1 ? v : v.slice(0, colon);
  const port = colon === -1 ? null : portOf(v.slice(colon));
  if (!NAME_RE.test(name) || port === undefined) return null;
  return { name, authorityName: name, port };
}

const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

/**
 * The names a request to the admin listener may carry in `Host`, fixed by the bound address,
 * plus `admin.allowedHosts`. A DNS-rebinding page reaches the listener under its own name
 * (`rebind.evil.example`), which is none of these; an IP literal or `localhost` cannot be
 * rebound. The port is not compared: `kubectl port-forward 8080:15000` makes the browser send
 * `localhost:8080`, and what a rebinding attack cannot forge is the name.
 *
 * Accepted: `localhost` and loopback IP literals (127.0.0.0/8, `[::1]`) whatever the bind; the
 * bound host itself; on a wildcard bind (`0.0.0.0`, `[::]`) any IP literal; and each
 * `admin.allowedHosts` entry (`host` on any port, `host:port` exactly).
 */
export class HostNames {
  readonly #bound: string;
  readonly #wildcard: boolean;
  #listRef: readonly string[] | null = null;
  #list: ReadonlySet<string> = new Set();

  constructor(bound: ListenAddress) {
    this.#bound = bound.host.toLowerCase();
    this.#wildcard = WILDCARD_HOSTS.has(this.#bound);
  }

  /** True when `host` names this listener; `allowed` is the active `admin.allowedHosts`. */
  accepts(host: HostParts, allowed: readonly string[] | null): boolean {
    const { name } = host;
    const literal = isIP(name) !== 0;
    if (name === 'localhost' || (literal && isLoopbackHost(name))) return true;
    if (name === this.#bound || (literal && this.#wildcard)) return true;
    if (allowed === null) return false;
    const list = this.#listOf(allowed);
    return (
      list.has(host.authorityName) || (host.port !== null && list.has(`${host.authorityName}:${host.port}`))
    );
  }

  /** The set of a policy's list, rebuilt only when a reload changed it. */
  #listOf(allowed: readonly string[]): ReadonlySet<string> {
    if (this.#listRef !== allowed) {
      this.#list = new Set(allowed);
      this.#listRef = allowed;
    }
    return this.#list;
  }
}
