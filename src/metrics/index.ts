export { Metrics, STATE_GAUGE } from './registry.ts';
export type { BreakerTotals } from './registry.ts';
export { LlmMetrics, MAX_MODEL_CHARS, MAX_MODEL_LABELS, OTHER_MODEL, TokenKind } from './llm.ts';
export type { AnswerTokens } from './llm.ts';
