import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';

/**
 * A stand-in for a client `ServerResponse` that records what a writer does to it: the head, each
 * `write` call and the end. `full` makes `write` report a full socket buffer (backpressure).
 */
export class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string | string[]> | null = null;
  writes: string[] = [];
  ended: string | null = null;
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  full = false;

  writeHead(status: number, headers: Record<string, string | string[]>): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    this.headersSent = true;
    this.writes.push(chunk.toString());
    return !this.full;
  }

  end(chunk?: Buffer | string): this {
    this.headersSent = true;
    this.ended = chunk === undefined ? '' : chunk.toString();
    this.writableEnded = true;
    this.writableFinished = true;
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }

  /** Everything the client received, in order. */
  get body(): string {
    return this.writes.join('') + (this.ended ?? '');
  }

  asResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

/** A dispatch controller stand-in that records pause / resume. */
export class FakeController {
  paused = false;
  aborted: Error | null = null;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  abort(err: Error): void {
    this.aborted = err;
  }
}

/** Resolves after the current tick's `process.nextTick` callbacks ran. */
export const nextTick = (): Promise<void> => new Promise((r) => process.nextTick(r));
