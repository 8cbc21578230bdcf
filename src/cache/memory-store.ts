import type { Clock } from '../clock/index.ts';
import { MISS, REFUSED, STORED, type CacheStore, type GetResult, type SetResult } from './store.ts';

/** Limits of a memory store. */
export interface MemoryStoreOptions {
  /** Most entries kept; the least recently used go first. Policy default 10 000. */
  readonly maxEntries: number;
  /** Most bytes kept in all (values plus keys). Policy default 64 MiB. */
  readonly maxBytes: number;
  /** Largest single value accepted, in bytes. Policy default 1 MiB. */
  readonly maxEntryBytes: number;
  /** Source of time for stored-at stamps and expiry. */
  readonly clock: Clock;
}

interface Slot {
  readonly value: Buffer;
  readonly storedAtMs: number;
  readonly expiresAtMs: number;
  readonly bytes: number;
  /** Shared read result, built once per write so a hit allocates nothing. */
  readonly hit: GetResult;
}

/**
 * An in-process LRU store bounded by entry count and bytes, with a TTL per entry. A `Map` keeps
 * insertion order, so a hit re-inserts its key and eviction takes the first keys. Expired entries
 * are dropped when read, or when the bounds push them out.
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly #options: MemoryStoreOptions;
  readonly #slots = new Map<string, Slot>();
  #bytes = 0;

  constructor(options: MemoryStoreOptions) {
    this.#options = options;
  }

  /** Entries held now (expired ones not yet dropped included). */
  get size(): number {
    return this.#slots.size;
  }

  /** Bytes held now (values plus keys). */
  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): Promise<GetResult> {
    return Promise.resolve(this.getNow(key));
  }

  /** The synchronous read behind `get`. */
  getNow(key: string): GetResult {
    const slot = this.#slots.get(key);
    if (slot === undefined) return MISS;
    this.#slots.delete(key);
    if (this.#options.clock.now() >= slot.expiresAtMs) {
      this.#bytes -= slot.bytes;
      return MISS;
    }
    this.#slots.set(key, slot);
    return slot.hit;
  }

  set(key: string, value: Buffer, ttlMs: number): Promise<SetResult> {
    return Promise.resolve(this.setNow(key, value, ttlMs));
  }

  /** The synchronous write behind `set`. */
  setNow(key: string, value: Buffer, ttlMs: number): SetResult {
    const bytes = value.length + key.length;
    if (value.length > this.#options.maxEntryBytes || bytes > this.#options.maxBytes || ttlMs <= 0) {
      return REFUSED;
    }
    this.#remove(key);
    const storedAtMs = this.#options.clock.now();
    const hit: GetResult = Object.freeze({ ok: true, entry: Object.freeze({ value, storedAtMs }) });
    this.#slots.set(key, { value, storedAtMs, expiresAtMs: storedAtMs + ttlMs, bytes, hit });
    this.#bytes += bytes;
    this.#evict();
    return STORED;
  }

  delete(key: string): Promise<void> {
    this.#remove(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#slots.clear();
    this.#bytes = 0;
    return Promise.resolve();
  }

  #remove(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }

  #evict(): void {
    const { maxEntries, maxBytes } = this.#options;
    for (const [key, slot] of this.#slots) {
      if (this.#slots.size <= maxEntries && this.#bytes <= maxBytes) return;
      this.#slots.delete(key);
      this.#bytes -= slot.bytes;
    }
  }
}
