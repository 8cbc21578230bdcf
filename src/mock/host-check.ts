import { BlockList, isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** True for addresses Ollama treats as loopback binds: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 4) return bare.startsWith('127.');
  return family === 6 && (bare === '::1' || bare === '0:0:0:0:0:0:0:1');
}

/**
 * Ollama's `allowedHostsMiddleware` (server/routes.go): when the server is bound to a loopback
 * address, a request whose `Host` is not local gets `403` with an empty body, which blocks DNS
 * rebinding. Allowed: no Host, `localhost`, this machine's hostname, names under `.localhost`,
 * `.local` or `.internal`, and IPs that are loopback, private, unspecified or on a local interface.
 * Built once per server; `allowed()` only reads precomputed sets.
 */
export class HostCheck {
  readonly #blocks = new BlockList();
  readonly #names: ReadonlySet<string>;
  readonly #localIps: ReadonlySet<string>;

  constructor() {
    const b = this.#blocks;
    b.addSubnet('127.0.0.0', 8, 'ipv4');
    b.addSubnet('10.0.0.0', 8, 'ipv4');
    b.addSubnet('172.16.0.0', 12, 'ipv4');
    b.addSubnet('192.168.0.0', 16, 'ipv4');
    b.addAddress('0.0.0.0', 'ipv4');
    b.addAddress('::1', 'ipv6');
    b.addAddress('::', 'ipv6');
    b.addSubnet('fc00::', 7, 'ipv6');
    this.#names = new Set(['', 'localhost', hostname().toLowerCase()]);
    const ips = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) ips.add(a.address);
    }
    this.#localIps = ips;
  }

  /** True when a request with this `Host` header may pass. */
  allowed(hostHeader: string | undefined): boolean {
    const host = stripPort(hostHeader ?? '').toLowerCase();
    const family = isIP(host);
    if (family !== 0) {
      return this.#blocks.check(host, family === 4 ? 'ipv4' : 'ipv6') || this.#localIps.has(host);
    }
    if (this.#names.has(host)) return true;
    return host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal');
  }
}

/** `host:port` → `host`; `[v6]:port` and `[v6]` → `v6`. */
function stripPort(h: string): string {
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon === -1 || h.indexOf(':', colon + 1) !== -1) return h;
  return h.slice(0, colon);
}
