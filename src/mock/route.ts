import type { ReplyCache } from './reply.ts';
import type { MockConfig } from './types.ts';
import type { JsonReply, Reply, WireStyle } from './wire.ts';

/** What route handlers read from the running mock. */
export interface RouteEnv {
  config(): MockConfig;
  readonly replies: ReplyCache;
  /** Next response id number (monotonic). */
  nextId(): number;
  /** Unix seconds now. */
  nowSeconds(): number;
  /** RFC 3339 time now (cached per millisecond). */
  nowIso(): string;
  /** Precomputed `GET /api/tags` body. */
  tagsBody(): string;
}

/** A request body as read: parsed JSON, or why it could not be. */
export type ParsedBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly empty: boolean; readonly firstChar: string };

/** One endpoint. `llm` endpoints are what faults hit by default. */
export interface Route {
  readonly style: WireStyle;
  readonly llm: boolean;
  /** True when the handler reads a JSON object body (bad JSON is answered before `handle`). */
  readonly json: boolean;
  handle(env: RouteEnv, body: Record<string, unknown>, path: string): Reply;
}

/** The routes of one kind of server, and how it answers what matches none. */
export interface RouteTable {
  /** Exact `METHOD path` routes. */
  readonly exact: ReadonlyMap<string, Route>;
  /** Prefix routes (e.g. `GET /v1/models/`), tried when no exact route matches. */
  readonly prefixes: readonly (readonly [method: string, prefix: string, route: Route])[];
  /** Paths that exist under some other method (for 405 vs 404). */
  readonly paths: ReadonlySet<string>;
  /** The reply to an unknown path. */
  readonly notFound: JsonReply;
  /** The reply to a known path with the wrong method. */
  readonly methodNotAllowed: JsonReply;
  /** The error style of requests that match no route. */
  readonly fallbackStyle: WireStyle;
  /** The reply to a body that is not a JSON object, in the route's style. */
  badBody(style: WireStyle, body: ParsedBody): JsonReply;
}

/** Looks a request up: a route, `'method'` when only the method is wrong, or null. */
export function findRoute(table: RouteTable, method: string, path: string): Route | 'method' | null {
  const exact = table.exact.get(`${method} ${path}`);
  if (exact !== undefined) return exact;
  for (const [m, prefix, route] of table.prefixes) {
    if (m === method && path.startsWith(prefix) && path.length > prefix.length) return route;
  }
  return table.paths.has(path) ? 'method' : null;
}

/** Builds the `exact` map and `paths` set from `[method, path, route]` entries. */
export function indexRoutes(entries: readonly (readonly [string, string, Route])[]): {
  exact: Map<string, Route>;
  paths: Set<string>;
} {
  const exact = new Map<string, Route>();
  const paths = new Set<string>();
  for (const [method, path, route] of entries) {
    exact.set(`${method} ${path}`, route);
    paths.add(path);
  }
  return { exact, paths };
}

/** `body.model` when it is a non-empty string, else null. */
export function modelOf(body: Record<string, unknown>): string | null {
  const m = body.model;
  return typeof m === 'string' && m !== '' ? m : null;
}

/** Go's encoding/json message for a body that does not parse (as Ollama reports it). */
export function goJsonError(body: ParsedBody, target: string): string {
  if (body.ok) return `json: cannot unmarshal ${jsonKind(body.value)} into Go value of type ${target}`;
  if (body.empty) return 'missing request body';
  return /[[{"\-0-9tfn]/.test(body.firstChar)
    ? 'unexpected EOF'
    : `invalid character '${body.firstChar}' looking for beginning of value`;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}
