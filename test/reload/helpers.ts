import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/index.ts';

/** What a ConfigMap version holds at `policy.yaml`: text, bytes, or a function creating the entry. */
export type VersionContent = string | Uint8Array | ((file: string) => Promise<void> | void);

/**
 * A directory laid out like a mounted ConfigMap volume:
 * `..2026_11_27_13_00_00.000000001/policy.yaml`, `..data -> ..2026_…`, `policy.yaml -> ..data/policy.yaml`.
 * `update()` swaps it the way the kubelet does: new timestamped dir, `..data_tmp` symlink,
 * `rename('..data_tmp', '..data')`, then the old dir removed.
 */
export class ConfigMapDir {
  readonly dir: string;
  /** The path the sidecar is given: `<dir>/policy.yaml`. */
  readonly file: string;
  #current: string | null = null;
  #seq = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, 'policy.yaml');
  }

  static async create(text: string): Promise<ConfigMapDir> {
    const cm = new ConfigMapDir(await mkdtemp(join(tmpdir(), 'bw-configmap-')));
    const ts = await cm.#writeVersion(text);
    await symlink(ts, join(cm.dir, '..data'));
    await symlink(join('..data', 'policy.yaml'), cm.file);
    cm.#current = ts;
    return cm;
  }

  async #writeVersion(content: VersionContent): Promise<string> {
    this.#seq++;
    const ts = `..2026_11_27_13_00_0${this.#seq}.00000000${this.#seq}`;
    await mkdir(join(this.dir, ts));
    const file = join(this.dir, ts, 'policy.yaml');
    if (typeof content === 'function') await content(file);
    else await writeFile(file, content);
    return ts;
  }

  /**
   * The kubelet's atomic update sequence. `content` is the new file's text or bytes, or a function
   * that creates the entry itself (a FIFO, a directory).
   */
  async update(content: VersionContent): Promise<void> {
    const ts = await this.#writeVersion(content);
    await symlink(ts, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.#current !== null) await rm(join(this.dir, this.#current), { recursive: true, force: true });
    this.#current = ts;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A pino logger whose JSON lines are kept in `lines`. */
export function capturingLogger(level: 'debug' | 'info' = 'info'): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = createLogger({ level, destination: dest });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets already-queued I/O callbacks (a burst of fs events) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
