import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';

/**
 * Binds `server` to `host:port` (port 0: any free port) and resolves with the bound address, or
 * rejects with `BW_ERR_LISTEN_FAILED` naming the address and the system's reason. The one
 * listen-or-fail of every listener: proxy, admin, health and the mock upstreams.
 */
export function listenOrFail(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code ?? err.message;
      reject(
        new BreakwaterError(ErrorCode.LISTEN_FAILED, `cannot listen on ${host}:${port}: ${why}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
