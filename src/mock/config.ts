import { z } from 'zod';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';
import { DEFAULT_REPLY_TEXT } from './reply.ts';
import { MockKind, type MockConfig } from './types.ts';

/** Default content chunks per reply. */
export const DEFAULT_STREAM_CHUNKS = 8;

/** Default served models per kind (the first one answers requests that name no model). */
export const DEFAULT_MODELS: Readonly<Record<MockKind, readonly string[]>> = {
  [MockKind.MAX]: ['llama-3.1-8b'],
  [MockKind.OLLAMA]: ['llama3.1:8b'],
};

const ConfigPatch = z.strictObject({
  streamChunks: z.int().min(1).max(100_000).optional(),
  chunkDelayMs: z.int().min(0).max(600_000).optional(),
  replyText: z.string().min(1).optional(),
  models: z.array(z.string().min(1)).min(1).optional(),
  strictModels: z.boolean().optional(),
});

/** The defaults of a kind. */
export function defaultConfig(kind: MockKind): MockConfig {
  return Object.freeze({
    streamChunks: DEFAULT_STREAM_CHUNKS,
    chunkDelayMs: 0,
    replyText: DEFAULT_REPLY_TEXT,
    models: DEFAULT_MODELS[kind],
    strictModels: false,
  });
}

/**
 * `base` with `patch` applied, validated and frozen (the inputs are not modified). Throws
 * `BW_ERR_REQUEST_INVALID` naming the first bad key.
 */
export function applyConfig(base: MockConfig, patch: unknown): MockConfig {
  const r = ConfigPatch.safeParse(patch);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? `config.${issue.path.join('.')}` : 'config';
    throw new BreakwaterError(ErrorCode.REQUEST_INVALID, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const p = r.data;
  return Object.freeze({
    streamChunks: p.streamChunks ?? base.streamChunks,
    chunkDelayMs: p.chunkDelayMs ?? base.chunkDelayMs,
    replyText: p.replyText ?? base.replyText,
    models: p.models === undefined ? base.models : Object.freeze([...p.models]),
    strictModels: p.strictModels ?? base.strictModels,
  });
}
