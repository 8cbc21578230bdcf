import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/cache/index.ts';
import { ManualClock } from '../../src/clock/index.ts';

const buf = (n: number, fill = 'x') => Buffer.alloc(n, fill);

function store(overrides: Partial<ConstructorParameters<typeof MemoryStore>[0]> = {}) {
  const clock = new ManualClock();
  const s = new MemoryStore({ maxEntries: 3, maxBytes: 1_000, maxEntryBytes: 500, clock, ...overrides });
  return { s, clock };
}

async function value(s: MemoryStore, key: string): Promise<string | null> {
  const r = await s.get(key);
  if (!r.ok) throw new Error('memory store failed');
  return r.entry === null ? null : r.entry.value.toString();
}

describe('MemoryStore', () => {
  it('returns what was set with its stored-at time when read back', async () => {
    const { s, clock } = store();
    const at = clock.now();
    expect(await s.set('a', Buffer.from('hello'), 1_000)).toEqual({ ok: true, stored: true });
    clock.advance(10);
    const r = await s.get('a');
    expect(r.ok && r.entry?.value.toString()).toBe('hello');
    expect(r.ok && r.entry?.storedAtMs).toBe(at);
  });

  it('misses when the key was never set or was deleted', async () => {
    const { s } = store();
    expect(await value(s, 'nope')).toBeNull();
    await s.set('a', buf(1), 1_000);
    await s.delete('a');
    expect(await value(s, 'a')).toBeNull();
    expect(s.bytes).toBe(0);
  });

  it('evicts the least recently used entry when maxEntries is exceeded', async () => {
    const { s } = store();
    await s.set('a', buf(1), 1_000);
    await s.set('b', buf(1), 1_000);
    await s.set('c', buf(1), 1_000);
    expect(await value(s, 'a')).not.toBeNull(); // a is now the most recent
    await s.set('d', buf(1), 1_000);
    expect(s.size).toBe(3);
    expect(await value(s, 'b')).toBeNull();
    expect(await value(s, 'a')).not.toBeNull();
    expect(await value(s, 'c')).not.toBeNull();
    expect(await value(s, 'd')).not.toBeNull();
  });

  it('evicts old entries when maxBytes is exceeded', async () => {
    const { s } = store({ maxEntries: 100 });
    await s.set('a', buf(400), 1_000); // 401 bytes with its key
    await s.set('b', buf(400), 1_000);
    expect(s.bytes).toBe(802);
    await s.set('c', buf(400), 1_000);
    expect(s.bytes).toBe(802);
    expect(await value(s, 'a')).toBeNull();
    expect(await value(s, 'b')).not.toBeNull();
    expect(await value(s, 'c')).not.toBeNull();
  });

  it('counts bytes once when a key is overwritten', async () => {
    const { s } = store();
    await s.set('a', buf(100), 1_000);
    await s.set('a', buf(50), 1_000);
    expect(s.bytes).toBe(51);
    expect(s.size).toBe(1);
    expect(await value(s, 'a')).toBe('x'.repeat(50));
  });

  it('refuses a value when it is larger than maxEntryBytes', async () => {
    const { s } = store();
    expect(await s.set('big', buf(501), 1_000)).toEqual({ ok: true, stored: false });
    expect(await value(s, 'big')).toBeNull();
    expect(s.bytes).toBe(0);
  });

  it('expires an entry when its TTL has passed on the clock', async () => {
    const { s, clock } = store();
    await s.set('a', buf(10), 1_000);
    clock.advance(999);
    expect(await value(s, 'a')).not.toBeNull();
    clock.advance(1);
    expect(await value(s, 'a')).toBeNull();
    expect(s.size).toBe(0);
    expect(s.bytes).toBe(0);
  });

  it('holds nothing when closed', async () => {
    const { s } = store();
    await s.set('a', buf(10), 1_000);
    await s.close();
    expect(s.size).toBe(0);
    expect(await value(s, 'a')).toBeNull();
  });
});
