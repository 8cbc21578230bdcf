import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A Redis server for tests. */
export interface RedisHandle {
  /** `redis://host:port`. */
  readonly url: string;
  /** Where it came from: `env` (REDIS_URL), `binary` (redis-server here), `container`. */
  readonly source: 'env' | 'binary' | 'container';
  /** True when `stop()` / `start()` / `pause()` / `resume()` work (the `binary` source only). */
  readonly controllable: boolean;
  /** Kills the server (SIGKILL: a crash, not a clean shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. `resume()` undoes it. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
  /** Stops it for good (idempotent). */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 5;

/**
 * Servers this process started and has not stopped. A test run cut short (the runner killed, its
 * output pipe closed) never reaches `afterAll`: they are killed when this worker exits or loses
 * its runner (the IPC channel of a forked worker closes), so none outlives the run.
 */
const started = new Set<ChildProcess>();
function killStarted(): void {
  for (const c of started) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  started.clear();
}
process.once('exit', killStarted);
process.once('disconnect', killStarted);

function hasBinary(name: string, args: string[]): boolean {
  const r = spawnSync(name, args, { stdio: 'ignore', timeout: 5_000 });
  return r.error === undefined && r.status === 0;
}

/**
 * A port that was free a moment ago. redis-server cannot listen on port 0 and report the port it
 * got, so this is the one place where a port is picked before listening; the race with another
 * process taking it is handled by retrying on "Address already in use".
 */
async function probablyFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

type SpawnResult = { ok: true; child: ChildProcess } | { ok: false; addressInUse: boolean; output: string };

/** Starts redis-server on `port`; resolves once it accepts connections, or with why it exited. */
async function spawnRedis(port: number): Promise<SpawnResult> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let output = '';
  return await new Promise<SpawnResult>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({
        ok: false,
        addressInUse: false,
        output: `${output}\n(not ready after ${READY_TIMEOUT_MS} ms)`,
      });
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stdout.resume();
        child.off('exit', onExit);
        resolve({ ok: true, child });
      }
    };
    const onExit = (): void => {
      clearTimeout(timer);
      resolve({ ok: false, addressInUse: /already in use/i.test(output), output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', onExit);
  });
}

async function startBinary(): Promise<RedisHandle> {
  let child: ChildProcess | null = null;
  let port = 0;
  for (let attempt = 1; child === null; attempt++) {
    port = await probablyFreePort();
    const r = await spawnRedis(port);
    if (r.ok) child = r.child;
    else if (!r.addressInUse || attempt >= BIND_ATTEMPTS)
      throw new Error(`redis-server did not start:\n${r.output}`);
  }
  const stop = async (): Promise<void> => {
    const c = child;
    if (c === null) return;
    child = null;
    if (c.exitCode === null && c.signalCode === null) {
      const exited = once(c, 'exit');
      c.kill('SIGKILL');
      await exited;
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'binary',
    controllable: true,
    stop,
    async start() {
      if (child !== null) return;
      const r = await spawnRedis(port);
      if (!r.ok) throw new Error(`redis-server did not restart on port ${port}:\n${r.output}`);
      child = r.child;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    close: async () => {
      child?.kill('SIGCONT');
      await stop();
    },
  };
}

async function startContainer(): Promise<RedisHandle | null> {
  // Loaded only when Docker answers: testcontainers is a devDependency, but importing it costs
  // start-up time every test file would pay for nothing on a machine without Docker.
  let mod: typeof import('testcontainers');
  try {
    mod = await import('testcontainers');
  } catch {
    return null;
  }
  const container = await new mod.GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  const unsupported = (): Promise<void> =>
    Promise.reject(new Error('a container Redis cannot be stopped by tests'));
  let closed = false;
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: 'container',
    controllable: false,
    stop: unsupported,
    start: unsupported,
    pause: () => undefined,
    resume: () => undefined,
    async close() {
      if (closed) return;
      closed = true;
      await container.stop();
    },
  };
}

/**
 * Finds a Redis for tests, in order: `REDIS_URL`; a `redis-server` binary, started here on a
 * free port with persistence off; a testcontainers Redis when Docker answers. With none, returns
 * null after a loud message, so the Redis suites skip, unless `BREAKWATER_REQUIRE_REDIS=1`
 * (CI), which makes it throw instead.
 */
export async function findRedis(): Promise<RedisHandle | null> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    const unsupported = (): Promise<void> =>
      Promise.reject(new Error('REDIS_URL Redis cannot be stopped by tests'));
    return {
      url: fromEnv,
      source: 'env',
      controllable: false,
      stop: unsupported,
      start: unsupported,
      pause: () => undefined,
      resume: () => undefined,
      close: () => Promise.resolve(),
    };
  }
  if (hasBinary('redis-server', ['--version'])) return startBinary();
  if (hasBinary('docker', ['info'])) {
    const handle = await startContainer();
    if (handle !== null) return handle;
  }
  const message =
    'NO REDIS: set REDIS_URL, install redis-server, or run Docker with testcontainers installed; Redis tests are SKIPPED';
  if (process.env.BREAKWATER_REQUIRE_REDIS === '1')
    throw new Error(`${message} (BREAKWATER_REQUIRE_REDIS=1)`);
  console.warn(`\n${'!'.repeat(100)}\n${message}\n${'!'.repeat(100)}\n`);
  return null;
}

/**
 * Resolves on the next `event` of a Redis client. Unlike `events.once`, an `error` meanwhile
 * (every failed reconnect attempt emits one) does not reject.
 */
export function clientEvent(client: NodeJS.EventEmitter, event: 'ready' | 'close'): Promise<void> {
  return new Promise((resolve) => client.once(event, () => resolve()));
}
