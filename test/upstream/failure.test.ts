import { describe, expect, it } from 'vitest';
import { CONNECT_ERROR_CODES } from '../../src/net/index.ts';
import { classifyError, statusFailure } from '../../src/upstream/index.ts';

const err = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('classifyError', () => {
  it('calls every connect code a connect failure, without the repeated word', () => {
    expect(classifyError(err('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:8000'))).toEqual({
      kind: 'connect',
      message: 'ECONNREFUSED 10.0.0.7:8000',
      status: null,
    });
    for (const code of CONNECT_ERROR_CODES) expect(classifyError(err(code, 'x')).kind).toBe('connect');
  });

  it('calls anything else after dispatch a reset', () => {
    expect(classifyError(err('UND_ERR_SOCKET', 'other side closed'))).toEqual({
      kind: 'reset',
      message: 'UND_ERR_SOCKET: other side closed',
      status: null,
    });
  });
});

describe('statusFailure', () => {
  it('carries the status as data', () => {
    expect(statusFailure(503)).toEqual({ kind: 'status', message: 'HTTP 503', status: 503 });
  });
});
