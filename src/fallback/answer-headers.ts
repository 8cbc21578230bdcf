import type { SkipNote } from './request.ts';

/** `x-should-retry` of answers that already used the fallbacks: SDK retries would multiply the load. */
export const NO_RETRY = 'false';

/** `x-breakwater-skipped`: `tier=reason, …`. */
export function skippedHeader(skipped: readonly SkipNote[]): string {
  return skipped.map((s) => `${s.tier}=${s.reason}`).join(', ');
}

/**
 * The `x-breakwater-*` headers of one tier's answer (docs/design.md#headers), a fresh object per
 * tier: nothing is shared or changed across tiers. Fallback tiers (cache, degraded) add
 * `x-should-retry: false`.
 */
export function answerHeaders(
  route: string,
  tier: string,
  skipped: readonly SkipNote[] | null,
  fallback: boolean,
): Readonly<Record<string, string>> {
  const h: Record<string, string> = { 'x-breakwater-route': route, 'x-breakwater-tier': tier };
  if (skipped !== null) h['x-breakwater-skipped'] = skippedHeader(skipped);
  if (fallback) h['x-should-retry'] = NO_RETRY;
  return h;
}
