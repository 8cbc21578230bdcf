import type { Framing } from '../protocol/index.ts';

/** An answer kept for the cache: the upstream's status, content type, framing and whole body. */
export interface RecordedAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly framing: Framing | null;
  readonly body: Buffer;
}

/**
 * Keeps what the cache stores of one answer (docs/design.md#cache-recording): references to the
 * chunks as they pass — never a copy on the response path — up to `limitBytes`; past it, nothing.
 * Made only when a cache tier follows in the route's chain.
 */
export class Recorder {
  readonly #limitBytes: number;
  #chunks: Buffer[] | null;
  #bytes: number;

  constructor(limitBytes: number) {
    this.#limitBytes = limitBytes;
    this.#chunks = [];
    this.#bytes = 0;
  }

  /** Keeps a reference to `chunk`; gives up for good past the limit. */
  push(chunk: Buffer): void {
    if (this.#chunks === null) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#limitBytes) this.#chunks = null;
    else this.#chunks.push(chunk);
  }

  /** The recorded stream, or null when it outgrew the limit or is not a success. */
  stream(status: number, contentType: ContentType, framing: Framing): RecordedAnswer | null {
    const chunks = this.#chunks;
    this.#chunks = null;
    if (chunks === null || status < 200 || status >= 300) return null;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#bytes);
    return { status, contentType: first(contentType), framing, body };
  }

  /** A whole answer, as sent to the client (the same bytes), or null when not kept. */
  whole(status: number, contentType: ContentType, body: Buffer): RecordedAnswer | null {
    this.#chunks = null;
    if (status < 200 || status >= 300 || body.length > this.#limitBytes) return null;
    return { status, contentType: first(contentType), framing: null, body };
  }
}

/** A `content-type` as undici hands it over (repeated, or absent). */
type ContentType = string | string[] | undefined;

function first(contentType: ContentType): string {
  return (Array.isArray(contentType) ? contentType[0] : contentType) ?? '';
}
