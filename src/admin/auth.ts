import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Compares a presented bearer token with the configured one in constant time. */
export function tokenMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (m === null) return false;
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/**
 * Whether a control call (a POST) may go ahead; null when it may, else the error to answer.
 *
 * - A configured `admin.token` is always required, whatever the address (`Authorization: Bearer`).
 * - Without a token the listener must be loopback (the policy schema enforces it; this also
 *   covers a reload that dropped the token while the listener still sits on another address).
 * - A browser request from another origin (its `Origin` differs from `Host`) is refused, so a web
 *   page open on the operator's machine cannot reset or open breakers behind their back.
 */
export function checkControl(
  req: IncomingMessage,
  token: string | null,
  loopbackBound: boolean,
): BreakwaterError | null {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) {
    return new BreakwaterError(
      ErrorCode.ADMIN_FORBIDDEN,
      `cross-origin control call refused (origin ${origin})`,
    );
  }
  if (token !== null) {
    return tokenMatches(req.headers.authorization, token)
      ? null
      : new BreakwaterError(
          ErrorCode.ADMIN_UNAUTHORIZED,
          'control calls need Authorization: Bearer <admin.token>',
        );
  }
  if (!loopbackBound) {
    return new BreakwaterError(
      ErrorCode.ADMIN_UNAUTHORIZED,
      'admin API on a non-loopback address needs admin.token',
    );
  }
  return null;
}
