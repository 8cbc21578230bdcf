export { AdminServer } from './server.ts';
export type { AdminSource } from './server.ts';
export { ADMIN_PAGE_HTML, PAGE_REFRESH_MS } from './page.ts';
export { checkControl, tokenMatches } from './auth.ts';
export { NO_TIER, tierLabel, tierUsage } from './tier-usage.ts';
export { ADMIN_TIMEOUT_MS, AdminClient, DEFAULT_ADMIN_URL } from './client.ts';
export type { AdminClientOptions, BreakerTable } from './client.ts';
export type { FleetAdmin } from './fleet-routes.ts';
