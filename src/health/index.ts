export { HealthServer } from './server.ts';
export type { HealthSource } from './server.ts';
export { ServingLevel, judgeReadiness } from './readiness.ts';
export type { BreakerLookup, Readiness, UpstreamHealth } from './readiness.ts';
export { HealthChecker, ProbeAction } from './checker.ts';
export type { HealthCheckerOptions, ProbeReport } from './checker.ts';
export { listsModel, modelListPath, probeUpstream } from './probe.ts';
export type { ProbeResult } from './probe.ts';
export { closeHttp, listenHttp, sendJson, sendJsonError, sendMetrics } from './http.ts';
