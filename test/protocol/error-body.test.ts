import { describe, expect, it } from 'vitest';
import { Protocol, errorBody } from '../../src/protocol/index.ts';

const typeOf = (status: number): string =>
  (JSON.parse(errorBody(Protocol.OPENAI, status, 'm', 'BW_ERR_X')) as { error: { type: string } }).error.type;

describe('errorBody', () => {
  it('gives every 4xx of the client a request error type, as the OpenAI API does', () => {
    for (const status of [400, 405, 408, 413, 415, 417, 422, 431]) {
      expect(typeOf(status), String(status)).toBe('invalid_request_error');
    }
    expect(typeOf(401)).toBe('authentication_error');
    expect(typeOf(403)).toBe('permission_error');
    expect(typeOf(404)).toBe('not_found_error');
    expect(typeOf(429)).toBe('rate_limit_error');
  });

  it('gives 5xx the server error type and keeps the code', () => {
    for (const status of [500, 501, 502, 503]) expect(typeOf(status), String(status)).toBe('server_error');
    expect(JSON.parse(errorBody(Protocol.OPENAI, 503, 'down', 'BW_ERR_CHAIN_EXHAUSTED'))).toEqual({
      error: { message: 'down', type: 'server_error', param: null, code: 'BW_ERR_CHAIN_EXHAUSTED' },
    });
    expect(JSON.parse(errorBody(Protocol.OLLAMA, 405, 'no', 'BW_ERR_X'))).toEqual({ error: 'no' });
  });
});
