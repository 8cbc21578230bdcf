import {
  OLLAMA_MOCK_VERSION,
  chat,
  chatStream,
  embedReply,
  generate,
  generateLoad,
  generateStream,
  legacyEmbedding,
  showBody,
  type NativeGeneration,
} from './ollama-wire.ts';
import {
  chatCompletion,
  chatCompletionStream,
  completion,
  completionStream,
  embeddings,
  modelList,
  modelObject,
  type Generation,
} from './openai-wire.ts';
import { ollamaModelName, promptTokens } from './reply.ts';
import { goJsonError, indexRoutes, modelOf, type Route, type RouteEnv, type RouteTable } from './route.ts';
import {
  OLLAMA_JSON_TYPE,
  TEXT_TYPE,
  WireStyle,
  errorReply,
  jsonReply,
  type JsonReply,
  type Reply,
} from './wire.ts';

const N = WireStyle.OLLAMA_NATIVE;
const O = WireStyle.OLLAMA_OPENAI;

/**
 * The requested model, or the error Ollama gives: 400 "model is required" when absent; with
 * `strictModels`, 404 `model "x" not found, try pulling it first` (handleScheduleError in routes.go)
 * for a model not served, a missing tag meaning `:latest`.
 */
function resolveModel(env: RouteEnv, body: Record<string, unknown>, style: WireStyle): string | JsonReply {
  const model = modelOf(body);
  if (model === null) return errorReply(style, 400, 'model is required');
  const c = env.config();
  if (c.strictModels) {
    const want = ollamaModelName(model);
    if (!c.models.some((m) => ollamaModelName(m) === want)) {
      return errorReply(style, 404, `model ${JSON.stringify(model)} not found, try pulling it first`);
    }
  }
  return model;
}

function native(env: RouteEnv, model: string, prompt: unknown): NativeGeneration {
  return { createdAt: env.nowIso(), reply: env.replies.get(model), promptTokens: promptTokens(prompt) };
}

function openai(env: RouteEnv, model: string, body: Record<string, unknown>, prompt: unknown): Generation {
  const opts = body.stream_options as { include_usage?: unknown } | null | undefined;
  return {
    id: `chatcmpl-${env.nextId()}`,
    created: env.nowSeconds(),
    reply: env.replies.get(model),
    promptTokens: promptTokens(prompt),
    includeUsage: typeof opts === 'object' && opts !== null && opts.include_usage === true,
  };
}

/** Native endpoints stream unless `stream` is exactly false. */
const streams = (body: Record<string, unknown>): boolean => body.stream !== false;

function route(style: WireStyle, llm: boolean, json: boolean, handle: Route['handle']): Route {
  return { style, llm, json, handle };
}

const apiChat = route(N, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, N);
  if (typeof model !== 'string') return model;
  const g = native(env, model, body.messages);
  return streams(body) ? chatStream(g) : chat(g);
});

const apiGenerate = route(N, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, N);
  if (typeof model !== 'string') return model;
  if (typeof body.prompt !== 'string' || body.prompt === '') {
    return generateLoad(JSON.stringify(model), env.nowIso());
  }
  const g = native(env, model, body.prompt);
  return streams(body) ? generateStream(g) : generate(g);
});

const apiEmbed = route(N, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, N);
  if (typeof model !== 'string') return model;
  return embedReply(JSON.stringify(model), body.input, promptTokens(body.input));
});

const apiEmbeddings = route(N, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, N);
  if (typeof model !== 'string') return model;
  return legacyEmbedding(body.prompt);
});

const apiShow = route(N, false, true, (env, body): Reply => {
  const name = modelOf(body) ?? (typeof body.name === 'string' ? body.name : '');
  if (name === '') return errorReply(N, 400, 'model is required');
  const c = env.config();
  const known = c.models.some((m) => ollamaModelName(m) === ollamaModelName(name));
  if (c.strictModels && !known) return errorReply(N, 404, `model '${name}' not found`);
  return jsonReply(200, showBody(env.nowIso()), OLLAMA_JSON_TYPE);
});

const root = route(N, false, false, () => jsonReply(200, 'Ollama is running', TEXT_TYPE));
const version = route(N, false, false, () =>
  jsonReply(200, `{"version":"${OLLAMA_MOCK_VERSION}"}`, OLLAMA_JSON_TYPE),
);
const tags = route(N, false, false, (env) => jsonReply(200, env.tagsBody(), OLLAMA_JSON_TYPE));

const v1Chat = route(O, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, O);
  if (typeof model !== 'string') return model;
  const g = openai(env, model, body, body.messages);
  return body.stream === true ? chatCompletionStream(O, g) : chatCompletion(O, g);
});

const v1Completions = route(O, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, O);
  if (typeof model !== 'string') return model;
  const g = openai(env, model, body, body.prompt);
  return body.stream === true ? completionStream(O, g) : completion(O, g);
});

const v1Embeddings = route(O, true, true, (env, body): Reply => {
  const model = resolveModel(env, body, O);
  if (typeof model !== 'string') return model;
  const base64 = body.encoding_format === 'base64';
  return embeddings(JSON.stringify(model), body.input, base64, promptTokens(body.input));
});

const v1Models = route(O, false, false, (env) => modelList(O, env.config().models, env.nowSeconds()));

const v1Model = route(O, false, false, (env, _body, path): Reply => {
  const id = decodeURIComponent(path.slice('/v1/models/'.length));
  const c = env.config();
  const hit = c.models.find((m) => ollamaModelName(m) === ollamaModelName(id));
  if (hit === undefined && c.strictModels) return errorReply(O, 404, `model '${id}' not found`);
  return jsonReply(200, modelObject(O, id, env.nowSeconds()));
});

const { exact } = indexRoutes([
  ['GET', '/', root],
  ['HEAD', '/', root],
  ['GET', '/api/version', version],
  ['HEAD', '/api/version', version],
  ['GET', '/api/tags', tags],
  ['HEAD', '/api/tags', tags],
  ['POST', '/api/show', apiShow],
  ['POST', '/api/chat', apiChat],
  ['POST', '/api/generate', apiGenerate],
  ['POST', '/api/embed', apiEmbed],
  ['POST', '/api/embeddings', apiEmbeddings],
  ['GET', '/v1/models', v1Models],
  ['POST', '/v1/chat/completions', v1Chat],
  ['POST', '/v1/completions', v1Completions],
  ['POST', '/v1/embeddings', v1Embeddings],
]);

const GO_TYPES: Readonly<Record<string, string>> = {
  [N]: 'api.ChatRequest',
  [O]: 'openai.ChatCompletionRequest',
};

/** Ollama's routes. gin answers unknown paths, and known paths with another method, `404 page not found`. */
export const OLLAMA_ROUTES: RouteTable = {
  exact,
  prefixes: [['GET', '/v1/models/', v1Model]],
  paths: new Set<string>(),
  notFound: jsonReply(404, '404 page not found', TEXT_TYPE),
  methodNotAllowed: jsonReply(404, '404 page not found', TEXT_TYPE),
  fallbackStyle: N,
  badBody: (style, body) => errorReply(style, 400, goJsonError(body, GO_TYPES[style] ?? 'api.ChatRequest')),
};
