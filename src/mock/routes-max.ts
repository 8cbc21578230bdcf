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
import { promptTokens } from './reply.ts';
import { indexRoutes, modelOf, type Route, type RouteEnv, type RouteTable } from './route.ts';
import { WireStyle, errorReply, jsonReply, type JsonReply, type Reply } from './wire.ts';

const S = WireStyle.MAX;

/**
 * The model a MAX request is served with: the requested one, or the served model when absent.
 * With `strictModels`, an unknown model is a 400 "Value error." — MAX's `get_pipeline` raises a
 * ValueError that the route maps to that message (openai_routes.py).
 */
function resolveModel(env: RouteEnv, body: Record<string, unknown>): string | JsonReply {
  const c = env.config();
  const model = modelOf(body) ?? c.models[0] ?? '';
  if (c.strictModels && !c.models.includes(model)) return errorReply(S, 400, 'Value error.');
  return model;
}

function generation(
  env: RouteEnv,
  model: string,
  prefix: string,
  body: Record<string, unknown>,
  prompt: unknown,
): Generation {
  const opts = body.stream_options as { include_usage?: unknown } | null | undefined;
  return {
    id: `${prefix}${env.nextId()}`,
    created: env.nowSeconds(),
    reply: env.replies.get(model),
    promptTokens: promptTokens(prompt),
    includeUsage: typeof opts === 'object' && opts !== null && opts.include_usage === true,
  };
}

const chat: Route = {
  style: S,
  llm: true,
  json: true,
  handle(env, body): Reply {
    const model = resolveModel(env, body);
    if (typeof model !== 'string') return model;
    const g = generation(env, model, 'chatcmpl-', body, body.messages);
    return body.stream === true ? chatCompletionStream(S, g) : chatCompletion(S, g);
  },
};

const completions: Route = {
  style: S,
  llm: true,
  json: true,
  handle(env, body): Reply {
    const model = resolveModel(env, body);
    if (typeof model !== 'string') return model;
    const g = generation(env, model, 'cmpl-', body, body.prompt);
    return body.stream === true ? completionStream(S, g) : completion(S, g);
  },
};

const embeddingsRoute: Route = {
  style: S,
  llm: true,
  json: true,
  handle(env, body): Reply {
    const model = resolveModel(env, body);
    if (typeof model !== 'string') return model;
    const base64 = body.encoding_format === 'base64';
    return embeddings(JSON.stringify(model), body.input, base64, promptTokens(body.input));
  },
};

const health: Route = {
  style: S,
  llm: false,
  json: false,
  handle: () => jsonReply(200, '', ''),
};

const version: Route = {
  style: S,
  llm: false,
  json: false,
  handle: () => jsonReply(200, '{"version":"0.0.0"}'),
};

const models: Route = {
  style: S,
  llm: false,
  json: false,
  handle: (env) => modelList(S, env.config().models, env.nowSeconds()),
};

const model: Route = {
  style: S,
  llm: false,
  json: false,
  handle(env, _body, path): Reply {
    const id = decodeURIComponent(path.slice('/v1/models/'.length));
    const served = env.config().models;
    // MAX also answers for the last segment of a slashed name (`org/model` → `model`).
    const hit = served.find((m) => m === id || m.slice(m.lastIndexOf('/') + 1) === id);
    return hit === undefined
      ? errorReply(S, 404, 'Not Found')
      : jsonReply(200, modelObject(S, hit, env.nowSeconds()));
  },
};

const { exact, paths } = indexRoutes([
  ['GET', '/health', health],
  ['GET', '/v1/health', health],
  ['GET', '/version', version],
  ['GET', '/v1/models', models],
  ['POST', '/v1/chat/completions', chat],
  ['POST', '/v1/completions', completions],
  ['POST', '/v1/embeddings', embeddingsRoute],
]);

/**
 * MAX Serve's routes. Unknown paths and wrong methods get FastAPI's default `{"detail": …}` body:
 * MAX registers its OpenAI error handler for FastAPI's HTTPException only, and routing errors are
 * Starlette's (api_server.py).
 */
export const MAX_ROUTES: RouteTable = {
  exact,
  prefixes: [['GET', '/v1/models/', model]],
  paths,
  notFound: jsonReply(404, '{"detail":"Not Found"}'),
  methodNotAllowed: jsonReply(405, '{"detail":"Method Not Allowed"}'),
  fallbackStyle: S,
  // json.loads failing is a JSONDecodeError → 400 "Missing JSON."; a non-object fails validation.
  badBody: (_style, body) =>
    errorReply(S, 400, body.ok ? 'Input should be a valid dictionary' : 'Missing JSON.'),
};
