import { Endpoint, Framing, splitEvents, type EndpointInfo } from '../protocol/index.ts';
import type { RecordedAnswer } from '../upstream/index.ts';
import type { CachedAnswer, CachedChoice, GenerationAnswer } from './answer.ts';

type Json = Record<string, unknown>;

/** Ollama's counters and durations on a final record, replayed as they were. */
const OLLAMA_STATS = [
  'total_duration',
  'load_duration',
  'prompt_eval_count',
  'prompt_eval_duration',
  'eval_count',
  'eval_duration',
] as const;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

interface PartialTool {
  id: unknown;
  type: unknown;
  name: string;
  args: string;
}

/** Accumulates one choice from a whole message or from stream deltas. */
class ChoiceBuilder {
  role = 'assistant';
  content = '';
  reasoning: string | null = null;
  /** OpenAI stream deltas by `index`, merged; or whole tool calls (JSON bodies, Ollama). */
  partialTools: Map<number, PartialTool> | null = null;
  wholeTools: unknown[] | null = null;
  finishReason: string | null = null;

  readonly index: number;

  constructor(index: number) {
    this.index = index;
  }

  /** Adds a message or delta: `{role?, content?, reasoning_content? | thinking?, tool_calls?}`. */
  addMessage(m: Json, reasoningKey: string, deltas: boolean): void {
    const role = str(m.role);
    if (role !== null && role !== '') this.role = role;
    const content = str(m.content);
    if (content !== null) this.content += content;
    this.addReasoning(m[reasoningKey]);
    const calls = m.tool_calls;
    if (!Array.isArray(calls) || calls.length === 0) return;
    if (!deltas) {
      (this.wholeTools ??= []).push(...(calls as unknown[]));
      return;
    }
    for (const c of calls) {
      if (!isObject(c)) continue;
      const i = typeof c.index === 'number' ? c.index : 0;
      const fn = isObject(c.function) ? c.function : {};
      this.partialTools ??= new Map<number, PartialTool>();
      const tool: PartialTool = this.partialTools.get(i) ?? {
        id: null,
        type: 'function',
        name: '',
        args: '',
      };
      if (c.id !== undefined && c.id !== null) tool.id = c.id;
      if (c.type !== undefined && c.type !== null) tool.type = c.type;
      tool.name += str(fn.name) ?? '';
      tool.args += str(fn.arguments) ?? '';
      this.partialTools.set(i, tool);
    }
  }

  addReasoning(v: unknown): void {
    const text = str(v);
    if (text !== null && text !== '') this.reasoning = (this.reasoning ?? '') + text;
  }

  build(): CachedChoice {
    let toolCalls: unknown[] | null = this.wholeTools;
    if (this.partialTools !== null) {
      toolCalls = [...this.partialTools.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, t]) => ({ id: t.id, type: t.type, function: { name: t.name, arguments: t.args } }));
    }
    return {
      index: this.index,
      role: this.role,
      content: this.content,
      reasoning: this.reasoning,
      toolCalls,
      finishReason: this.finishReason,
    };
  }
}

class GenerationBuilder {
  model: string | null = null;
  usage: Json | null = null;
  readonly #choices = new Map<number, ChoiceBuilder>();

  readonly endpoint: Endpoint;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
  }

  choice(index: number): ChoiceBuilder {
    let c = this.#choices.get(index);
    if (c === undefined) this.#choices.set(index, (c = new ChoiceBuilder(index)));
    return c;
  }

  /** Reads the OpenAI `choices` of a whole body (`deltas` false) or of one stream chunk. */
  addOpenAi(obj: Json, deltas: boolean): void {
    this.model ??= str(obj.model);
    if (isObject(obj.usage)) this.usage = obj.usage;
    if (!Array.isArray(obj.choices)) return;
    for (const raw of obj.choices) {
      if (!isObject(raw)) continue;
      const c = this.choice(typeof raw.index === 'number' ? raw.index : 0);
      const msg = deltas ? raw.delta : raw.message;
      if (isObject(msg)) c.addMessage(msg, 'reasoning_content', deltas);
      const text = str(raw.text);
      if (text !== null) c.content += text;
      const finish = str(raw.finish_reason);
      if (finish !== null) c.finishReason = finish;
    }
  }

  /** Reads one Ollama record (a whole body, or one NDJSON line). */
  addOllama(obj: Json): void {
    this.model ??= str(obj.model);
    const c = this.choice(0);
    if (isObject(obj.message)) c.addMessage(obj.message, 'thinking', false);
    const response = str(obj.response);
    if (response !== null) c.content += response;
    c.addReasoning(obj.thinking);
    if (obj.done !== true) return;
    c.finishReason = str(obj.done_reason) ?? 'stop';
    const stats: Json = {};
    let any = false;
    for (const k of OLLAMA_STATS) {
      if (typeof obj[k] === 'number') {
        stats[k] = obj[k];
        any = true;
      }
    }
    if (any) this.usage = stats;
  }

  build(): GenerationAnswer | null {
    if (this.#choices.size === 0) return null;
    const choices = [...this.#choices.values()].sort((a, b) => a.index - b.index).map((c) => c.build());
    return {
      v: 1,
      kind: 'generation',
      endpoint: this.endpoint,
      model: this.model,
      choices,
      usage: this.usage,
    };
  }
}

function parseJson(text: string): Json | null {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** A whole JSON body that is an object and not an error. */
function parseObject(body: Buffer): Json | null {
  const obj = parseJson(body.toString('utf8'));
  return obj !== null && (obj.error === undefined || obj.error === null) ? obj : null;
}

/**
 * Feeds every event of a stream; null when one is an error or not a JSON object, or no clean end
 * (`data: [DONE]`, an NDJSON record with `done: true`) came. Every event is parsed here: this
 * runs off the request path, after the answer was sent.
 */
function fromStream(
  b: GenerationBuilder,
  framing: Framing,
  body: Buffer,
  openai: boolean,
): GenerationAnswer | null {
  let done = false;
  for (const payload of splitEvents(framing, body.toString('utf8'))) {
    if (framing === Framing.SSE && payload === '[DONE]') {
      done = true;
      continue;
    }
    const obj = parseJson(payload);
    if (obj === null || (obj.error !== undefined && obj.error !== null)) return null;
    if (openai) b.addOpenAi(obj, true);
    else {
      b.addOllama(obj);
      if (obj.done === true) done = true;
    }
  }
  return done ? b.build() : null;
}

/**
 * The canonical form of a recorded upstream answer, or null when it is not worth keeping (not
 * 2xx, an error body, an in-band error, a stream without its clean end, a framing the endpoint
 * does not use). Chat and completion answers are merged into whole choices; embeddings are kept
 * as their JSON body.
 */
export function assembleAnswer(ei: EndpointInfo, recorded: RecordedAnswer): CachedAnswer | null {
  if (recorded.status < 200 || recorded.status > 299) return null;
  const b = new GenerationBuilder(ei.endpoint);
  switch (ei.endpoint) {
    case Endpoint.CHAT:
    case Endpoint.COMPLETIONS: {
      if (recorded.framing === Framing.SSE) return fromStream(b, Framing.SSE, recorded.body, true);
      if (recorded.framing !== null) return null;
      const obj = parseObject(recorded.body);
      if (obj === null) return null;
      b.addOpenAi(obj, false);
      return b.build();
    }
    case Endpoint.OLLAMA_CHAT:
    case Endpoint.OLLAMA_GENERATE: {
      if (recorded.framing === Framing.NDJSON) return fromStream(b, Framing.NDJSON, recorded.body, false);
      if (recorded.framing !== null) return null;
      const obj = parseObject(recorded.body);
      if (obj === null || obj.done !== true) return null;
      b.addOllama(obj);
      return b.build();
    }
    default: {
      if (recorded.framing !== null || parseObject(recorded.body) === null) return null;
      const contentType = recorded.contentType.startsWith('application/json')
        ? recorded.contentType
        : 'application/json';
      return { v: 1, kind: 'body', endpoint: ei.endpoint, contentType, body: recorded.body.toString('utf8') };
    }
  }
}
