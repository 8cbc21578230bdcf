/**
 * Sets `traceparent` in upstream request headers (a flat name/value list) in place of the
 * caller's: the upstream's parent is the attempt's span. The caller's `tracestate` passes on
 * unchanged, as W3C Trace Context §3.3 asks of a participant that adds no entry of its own.
 * Only called when tracing is on.
 */
export function withTraceparent(headers: string[], traceparent: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i]!.toLowerCase() === 'traceparent') headers.splice(i, 2);
  }
  headers.push('traceparent', traceparent);
}
