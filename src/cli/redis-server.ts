import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A Redis for `breakwater demo --fleet`. */
export interface DemoRedis {
  readonly url: string;
  /** Where it came from: `$REDIS_URL`, or a `redis-server` started here (stopped with the demo). */
  readonly source: 'env' | 'started';
  stop(): void;
}

const READY_TIMEOUT_MS = 10_000;
const ATTEMPTS = 5;

/**
 * A port that was free a moment ago: redis-server cannot listen on port 0 and report its port, so
 * this is the one place a port is picked before listening; "Address already in use" is retried.
 */
async function probablyFreePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

function startOn(port: number): Promise<{ child: ChildProcess | null; output: string }> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ child: null, output: `${output}(not ready after ${READY_TIMEOUT_MS} ms)` });
    }, READY_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ child: null, output: err.message });
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ child: null, output });
    });
    const onData = (c: Buffer): void => {
      output += c.toString();
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.off('data', onData);
      child.stdout.resume();
      resolve({ child, output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  });
}

/**
 * Finds a Redis the way the tests do: `$REDIS_URL`; else a `redis-server` on `PATH`, started on a
 * free loopback port with persistence off. Throws a message saying what to install otherwise.
 */
export async function demoRedis(env: NodeJS.ProcessEnv): Promise<DemoRedis> {
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    return { url: env.REDIS_URL, source: 'env', stop: () => undefined };
  }
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const port = await probablyFreePort();
    const { child, output } = await startOn(port);
    if (child !== null) {
      const stop = (): void => void child.kill('SIGTERM');
      process.once('exit', stop);
      return { url: `redis://127.0.0.1:${port}`, source: 'started', stop };
    }
    last = output;
    if (!/already in use/i.test(output)) break;
  }
  throw new Error(
    `fleet mode needs Redis: set REDIS_URL=redis://host:6379, or install redis-server ` +
      `(Debian: apt-get install redis-server) so the demo can start one${last ? ` (${last.trim().split('\n').at(-1)})` : ''}`,
  );
}
