import type { ChainDeps } from '../fallback/index.ts';
import type { Policy } from '../policy/index.ts';
import type { Passthrough } from './passthrough.ts';
import type { RouteTable } from './route-table.ts';

/**
 * Everything the request path reads, built once per policy. A reload builds a new Generation and
 * swaps one reference; a request keeps the generation it started with to its end.
 */
export interface Generation {
  readonly policy: Policy;
  readonly routes: RouteTable;
  readonly chain: ChainDeps;
  readonly passthrough: Passthrough;
}
