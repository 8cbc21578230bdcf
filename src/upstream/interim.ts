import type { Socket } from 'node:net';

/** `HTTP/1.1 100 ` — enough bytes to tell an interim `100 Continue` from any other head. */
const STATUS_LINE_BYTES = 13;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const ZERO = 0x30;
const THREE = 0x33;
const HTTP_1 = Buffer.from('HTTP/1.');

/**
 * Lets undici skip an interim `100 Continue` that it did not ask for. RFC 9110 §15.2: a client
 * must be able to parse 1xx responses before the final one, even unexpected ones; undici skips
 * every 1xx except 100, on which it destroys the socket (`bad response`), which failed the tier
 * and counted against its breaker although the final answer was on its way. breakwater never
 * sends `Expect: 100-continue`, so a 100 is always unasked; read as a `103`, it is skipped like
 * the others.
 *
 * The socket's `read` is wrapped so that the first bytes of each response (after each request
 * write) are checked once; the rest of a response passes untouched. Only the status digit is
 * changed, in place.
 */
export function skipUnaskedContinue(socket: Socket): void {
  const skipper = new ContinueSkipper(socket.read.bind(socket));
  const write = socket.write.bind(socket) as (...a: Parameters<Socket['write']>) => boolean;
  socket.write = ((...args: Parameters<Socket['write']>) => {
    skipper.atHead = true;
    return write(...args);
  }) as Socket['write'];
  socket.read = (size?: number) => skipper.read(size);
}

/** The state of one socket's reads: where a response head starts, and an interim head's end. */
class ContinueSkipper {
  readonly #read: (size?: number) => unknown;
  /** The next bytes read start a response head. */
  atHead = true;
  /** Inside a rewritten interim head: how many bytes of its closing CRLF CRLF are matched; -1 outside. */
  #matched = -1;
  /** The first bytes of a head, too few to judge yet. */
  #held: Buffer | null = null;

  constructor(read: (size?: number) => unknown) {
    this.#read = read;
  }

  read(size?: number): Buffer | null {
    for (;;) {
      let chunk = this.#read(size) as Buffer | null;
      if (!this.atHead || chunk === null) return chunk;
      if (this.#held !== null) {
        chunk = Buffer.concat([this.#held, chunk]);
        this.#held = null;
      }
      const out = this.#scan(chunk);
      if (out !== null) return out;
    }
  }

  /** Rewrites the interim `100` heads at the start of `chunk`; null when all of it is held. */
  #scan(chunk: Buffer): Buffer | null {
    let pos = 0;
    for (;;) {
      if (this.#matched >= 0) {
        pos = this.#headEnd(chunk, pos);
        if (pos === -1) return chunk;
        this.#matched = -1;
      }
      if (pos === chunk.length) return chunk;
      if (chunk.length - pos < STATUS_LINE_BYTES) {
        this.#held = chunk.subarray(pos);
        return pos > 0 ? chunk.subarray(0, pos) : null;
      }
      if (!isContinue(chunk, pos)) {
        this.atHead = false;
        return chunk;
      }
      chunk[pos + 11] = THREE;
      this.#matched = 0;
      pos += STATUS_LINE_BYTES - 1;
    }
  }

  /** End (exclusive) of the interim head that `chunk[from..]` continues, or -1 when not in `chunk`. */
  #headEnd(chunk: Buffer, from: number): number {
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === (this.#matched % 2 === 0 ? CR : LF)) this.#matched++;
      else this.#matched = b === CR ? 1 : 0;
      if (this.#matched === 4) return i + 1;
    }
    return -1;
  }
}

/** Does `chunk[pos..]` start with `HTTP/1.x 100` followed by a space or CR? */
function isContinue(chunk: Buffer, pos: number): boolean {
  // The status digits first: a final answer (`HTTP/1.1 200`) is told apart by one byte.
  if (chunk[pos + 9] !== ZERO + 1 || chunk[pos + 10] !== ZERO || chunk[pos + 11] !== ZERO) return false;
  const after = chunk[pos + 12];
  if (chunk[pos + 8] !== SP || (after !== SP && after !== CR)) return false;
  return chunk.compare(HTTP_1, 0, HTTP_1.length, pos, pos + HTTP_1.length) === 0;
}
