/** The wire protocol a client speaks, judged by the request path. */
export const Protocol = { OPENAI: 'openai', OLLAMA: 'ollama' } as const;
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

/** LLM endpoints breakwater understands; anything else is passed through. */
export const Endpoint = {
  CHAT: 'chat',
  COMPLETIONS: 'completions',
  EMBEDDINGS: 'embeddings',
  OLLAMA_CHAT: 'ollama_chat',
  OLLAMA_GENERATE: 'ollama_generate',
  OLLAMA_EMBED: 'ollama_embed',
  OLLAMA_EMBEDDINGS: 'ollama_embeddings',
} as const;
export type Endpoint = (typeof Endpoint)[keyof typeof Endpoint];

/** What breakwater knows about one LLM endpoint. */
export interface EndpointInfo {
  readonly endpoint: Endpoint;
  readonly protocol: Protocol;
  /** Answers of this endpoint may be stored and served by the cache tier. */
  readonly cacheable: boolean;
  /** A degraded answer exists in this endpoint's shape (not for embeddings). */
  readonly degradable: boolean;
  /** `stream` absent means streaming (Ollama native chat/generate default to a stream). */
  readonly streamsByDefault: boolean;
}

const info = (
  endpoint: Endpoint,
  protocol: Protocol,
  degradable: boolean,
  streamsByDefault = false,
): EndpointInfo => Object.freeze({ endpoint, protocol, cacheable: true, degradable, streamsByDefault });

/** Path suffix → endpoint, so `/v1/chat/completions` behind any prefix is found. */
const BY_SUFFIX: ReadonlyArray<readonly [string, EndpointInfo]> = [
  // Ollama native first: `/api/embeddings` must not be taken for OpenAI's `/embeddings`.
  ['/api/chat', info(Endpoint.OLLAMA_CHAT, Protocol.OLLAMA, true, true)],
  ['/api/generate', info(Endpoint.OLLAMA_GENERATE, Protocol.OLLAMA, true, true)],
  ['/api/embed', info(Endpoint.OLLAMA_EMBED, Protocol.OLLAMA, false)],
  ['/api/embeddings', info(Endpoint.OLLAMA_EMBEDDINGS, Protocol.OLLAMA, false)],
  ['/chat/completions', info(Endpoint.CHAT, Protocol.OPENAI, true)],
  ['/completions', info(Endpoint.COMPLETIONS, Protocol.OPENAI, true)],
  ['/embeddings', info(Endpoint.EMBEDDINGS, Protocol.OPENAI, false)],
];

/**
 * The LLM endpoint of a POST path, or null for anything that is not an LLM call (those are passed
 * through). `path` is the path without query string.
 */
export function endpointOf(method: string, path: string): EndpointInfo | null {
  if (method !== 'POST') return null;
  for (const [suffix, ei] of BY_SUFFIX) if (path.endsWith(suffix)) return ei;
  return null;
}

/** The protocol of a path for error bodies of non-LLM requests: `/api/…` is Ollama native. */
export function protocolOfPath(path: string): Protocol {
  return path.startsWith('/api/') ? Protocol.OLLAMA : Protocol.OPENAI;
}
