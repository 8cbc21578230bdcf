import type { Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { skipUnaskedContinue } from '../../src/upstream/interim.ts';

/** A socket stand-in whose `read()` hands out the queued chunks, then null. */
function fakeSocket(chunks: readonly string[]): { socket: Socket; queue: (string | Buffer)[] } {
  const queue: (string | Buffer)[] = [...chunks];
  const socket = {
    read: () => {
      const next = queue.shift();
      return next === undefined ? null : Buffer.from(next);
    },
    write: () => true,
  } as unknown as Socket;
  skipUnaskedContinue(socket);
  return { socket, queue };
}

/** Everything `read()` gives until it returns null. */
function drain(socket: Socket): string {
  let out = '';
  for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) {
    out += c.toString('latin1');
  }
  return out;
}

const FINAL = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi';

describe('skipUnaskedContinue', () => {
  it('turns an interim 100 into a 103 and leaves the final answer alone', () => {
    const { socket } = fakeSocket([`HTTP/1.1 100 Continue\r\n\r\n${FINAL}`]);
    expect(drain(socket)).toBe(`HTTP/1.1 103 Continue\r\n\r\n${FINAL}`);
  });

  it('turns every 100 of a row, with headers, into 103', () => {
    const { socket } = fakeSocket([`HTTP/1.0 100\r\nx: 1\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n${FINAL}`]);
    expect(drain(socket)).toBe(`HTTP/1.0 103\r\nx: 1\r\n\r\nHTTP/1.1 103 Continue\r\n\r\n${FINAL}`);
  });

  it('leaves other status lines alone', () => {
    for (const head of [
      'HTTP/1.1 200 OK',
      'HTTP/1.1 101 Switching',
      'HTTP/1.1 1000 x',
      'HTTP/1.1 103 Early',
    ]) {
      const { socket } = fakeSocket([`${head}\r\n\r\n`]);
      expect(drain(socket)).toBe(`${head}\r\n\r\n`);
    }
  });

  it('leaves body bytes alone until the next request is written', () => {
    const { socket, queue } = fakeSocket([FINAL]);
    expect(drain(socket)).toBe(FINAL);
    queue.push('HTTP/1.1 100 Continue\r\n\r\n');
    expect(drain(socket)).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('GET / HTTP/1.1\r\n\r\n');
    queue.push(`HTTP/1.1 100 Continue\r\n\r\n${FINAL}`);
    expect(drain(socket)).toBe(`HTTP/1.1 103 Continue\r\n\r\n${FINAL}`);
  });

  it('gives the same bytes however the response is cut into reads', () => {
    const whole = `HTTP/1.1 100 Continue\r\na: b\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n${FINAL}`;
    const expected = whole.replaceAll('HTTP/1.1 100', 'HTTP/1.1 103');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: whole.length }), { maxLength: 20 }), (points) => {
        const at = [...new Set(points)].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of at) {
          chunks.push(whole.slice(prev, p));
          prev = p;
        }
        chunks.push(whole.slice(prev));
        const { socket, queue } = fakeSocket([]);
        let out = '';
        // One chunk arrives per 'readable': read until null after each, as undici does.
        for (const c of chunks) {
          if (c === '') continue;
          queue.push(c);
          out += drain(socket);
        }
        expect(out).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
