export { ProxyServer } from './server.ts';
export { Passthrough } from './passthrough.ts';
export { RouteTable, normalizeAuthority } from './route-table.ts';
export type { Generation } from './generation.ts';
export type { RouteMatchResult } from './route-table.ts';
