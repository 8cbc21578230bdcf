export { Endpoint, Protocol, endpointOf, protocolOfPath } from './endpoint.ts';
export type { EndpointInfo } from './endpoint.ts';
export { Framing, fastScan, lastBoundary, splitEvents } from './framing.ts';
export type { FastScan } from './framing.ts';
export { EventKind, classifyEvent, errorMessageOf } from './event.ts';
export type { StreamEvent } from './event.ts';
export { errorBody, errorEvent, normalizeErrorBody } from './error-body.ts';
export { MAX_USAGE_BYTES, answerUsage, ollamaUsage, openAiUsage } from './usage.ts';
export type { TokenUsage } from './usage.ts';
