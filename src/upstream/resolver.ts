import { Resolver } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';

/**
 * A `lookup` for sockets that asks DNS directly instead of the system resolver, so that
 * `/etc/hosts` is bypassed. Needed with `inject --via hosts`: the pod's hostAliases point the
 * upstream names at the sidecar itself, and the sidecar must still reach the real servers.
 */
export function dnsLookup(): LookupFunction {
  const resolver = new Resolver();
  return (hostname, options, callback) => {
    const all = typeof options === 'object' && options !== null && options.all === true;
    const family = isIP(hostname);
    if (family !== 0) {
      if (all) callback(null, [{ address: hostname, family }]);
      else callback(null, hostname, family);
      return;
    }
    resolver
      .resolve4(hostname)
      .then(
        (v4) => v4.map((address) => ({ address, family: 4 })),
        () => resolver.resolve6(hostname).then((v6) => v6.map((address) => ({ address, family: 6 }))),
      )
      .then(
        (addrs) => {
          if (addrs.length === 0)
            throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
          if (all) callback(null, addrs);
          else callback(null, addrs[0]!.address, addrs[0]!.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 0),
      );
  };
}
