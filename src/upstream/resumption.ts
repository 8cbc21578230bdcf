import { Framing } from '../protocol/index.ts';

/**
 * The one owner of `continueOnNextTier` (docs/design.md#resumption): the assistant text the
 * client has received so far, across every tier that wrote to its stream, and the request that
 * asks the next tier to continue from it. One per request that may be resumed (a chat stream);
 * the text becomes null for good once a tool call went by — a cut tool call is never resumed.
 */
export class Resumption {
  #text: string | null;
  /** A tier is continuing the client's stream (its head went out with an earlier tier). */
  continuing: boolean;

  constructor() {
    this.#text = '';
    this.continuing = false;
  }

  /** The assistant text sent so far, or null when the stream can no longer be resumed. */
  get text(): string | null {
    return this.#text;
  }

  /** Adds the assistant text of `events[0, end)` (parsed payloads of one slice). */
  track(framing: Framing, events: readonly string[], end: number): void {
    for (let i = 0; i < end && this.#text !== null; i++) {
      const e = events[i]!;
      if (e === '[DONE]') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(e);
      } catch {
        return;
      }
      const piece = assistantPiece(framing, obj);
      if (piece === null) this.#text = null;
      else this.#text += piece;
    }
  }

  /**
   * The request again, for the next tier: the text the client already has appended as an
   * assistant message to continue from, and the tier's model when it rewrites it.
   */
  continuationBody(json: Readonly<Record<string, unknown>>, model: string | null): Buffer {
    const messages: unknown[] = Array.isArray(json.messages) ? (json.messages as unknown[]) : [];
    return Buffer.from(
      JSON.stringify({
        ...json,
        ...(model === null ? {} : { model }),
        messages: [...messages, { role: 'assistant', content: this.#text ?? '' }],
      }),
    );
  }
}

/**
 * The assistant text one streamed event adds ('' for none), or null when the event carries a
 * tool call.
 */
export function assistantPiece(framing: Framing, event: unknown): string | null {
  if (typeof event !== 'object' || event === null) return '';
  if (framing === Framing.NDJSON) {
    const m = (event as { message?: { content?: unknown; tool_calls?: unknown } }).message;
    if (m?.tool_calls !== undefined) return null;
    return typeof m?.content === 'string' ? m.content : '';
  }
  const d = (event as { choices?: { delta?: { content?: unknown; tool_calls?: unknown } }[] }).choices?.[0]
    ?.delta;
  if (d?.tool_calls !== undefined && d.tool_calls !== null) return null;
  return typeof d?.content === 'string' ? d.content : '';
}
