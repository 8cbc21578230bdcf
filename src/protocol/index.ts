export { Endpoint, Protocol, endpointOf, protocolOfPath } from './endpoint.ts';
export type { EndpointInfo } from './endpoint.ts';
export {
  EVENT_TOO_LONG,
  EventSplitter,
  Framing,
  framingOf,
  fastScan,
  firstInvalidEvent,
  lastBoundary,
  splitEvents,
} from './framing.ts';
export type { FastScan } from './framing.ts';
export { EventKind, classifyEvent, errorMessageOf } from './event.ts';
export type { StreamEvent } from './event.ts';
export { errorBody, errorEvent, normalizeErrorBody } from './error-body.ts';
export { writeJsonError, writeSocketError } from './error-writer.ts';
export { MAX_USAGE_BYTES, USAGE_TAIL_BYTES, answerUsage, ollamaUsage, openAiUsage } from './usage.ts';
export type { TokenUsage } from './usage.ts';
