import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sqliteAggregator } from '../../../src/aggregators/sqlite/sqlite-aggregator.js';
import { normalizeAddress, parseAddressInto } from '../../../src/capture/anonymize-ip.js';
import {
  createDailySalts,
  DAY_MS,
  dayLabel,
  isSalt,
  SALT_PREFETCH_LEAD_MS,
  SALT_READY_TIMEOUT_MS,
  SALT_RETRY_INITIAL_MS,
  saltKey,
} from '../../../src/capture/daily-salt.js';
import {
  createVisitorHasher,
  MARK_MAX_RANK,
  markParsedWithKey,
  markWithKey,
  scratchResidue,
  type VisitorHasher,
} from '../../../src/capture/visitor-hash.js';
import { ERROR_CODES, isPrivacyLogError, type PrivacyLogError } from '../../../src/errors.js';
import { markIndex, markRank } from '../../../src/stats/visitor-mark.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const DAY = 20_416; // 2025-11-24
const NOON = DAY * DAY_MS + 12 * 3_600_000;

/** Test double for a shared salt store (first writer wins), recording its calls. */
function saltStoreDouble() {
  const salts = new Map<string, string>();
  const calls: Array<[string, string]> = [];
  return {
    salts,
    calls,
    source: async (day: string, candidate: string) => {
      calls.push([day, candidate]);
      if (!salts.has(day)) salts.set(day, candidate);
      return salts.get(day) as string;
    },
  };
}

const open: VisitorHasher[] = [];
function hasher(options: Parameters<typeof createVisitorHasher>[0] = {}): VisitorHasher {
  const h = createVisitorHasher(options);
  open.push(h);
  return h;
}
afterEach(() => {
  for (const h of open.splice(0)) h.close();
  vi.useRealTimers();
});

describe('createVisitorHasher', () => {
  it('gives the same mark for the same visitor all day, and different marks to different visitors', async () => {
    const h = hasher({ now: () => NOON });
    await h.ready();
    const a = h.mark('203.0.113.7', UA, 'oblachko', NOON);
    expect(h.mark('203.0.113.7', UA, 'oblachko', DAY * DAY_MS)).toBe(a);
    expect(h.mark('203.0.113.7', UA, 'oblachko', (DAY + 1) * DAY_MS - SALT_PREFETCH_LEAD_MS - 1)).toBe(a);
    const others = new Set<number>();
    for (let i = 0; i < 200; i++) others.add(h.mark(`203.0.113.${i}`, UA, 'oblachko', NOON));
    expect(others.size).toBeGreaterThan(190);
    expect(h.mark('203.0.113.7', `${UA} `, 'oblachko', NOON)).not.toBe(a);
    expect(h.mark('203.0.113.7', UA, 'other-site', NOON)).not.toBe(a);
  });

  it('marks are always in range, for any input', () => {
    const h = hasher();
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.string({ maxLength: 40 }),
        fc.oneof(fc.integer(), fc.double()),
        (address, ua, site, t) => {
          const m = h.mark(address, ua, site, t);
          expect(markIndex(m)).toBeGreaterThanOrEqual(0);
          expect(markIndex(m)).toBeLessThan(16_384);
          expect(markRank(m)).toBeGreaterThanOrEqual(1);
          expect(markRank(m)).toBeLessThanOrEqual(MARK_MAX_RANK);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('does not crash on missing fields (a request without User-Agent)', () => {
    const h = hasher();
    const m = h.mark(undefined as never, null as never, 42 as never, NOON);
    expect(m).toBe(h.mark('', '', '', NOON));
    expect(markRank(m)).toBeGreaterThanOrEqual(1);
  });

  it('keeps no address or User-Agent bytes after a call', () => {
    const h = hasher();
    h.mark('2001:db8::1', UA, 'oblachko', Date.now());
    expect(scratchResidue()).toBe(0);
  });

  it('uses an independent salt per day: the same visitor is unlinkable across days', async () => {
    const store = saltStoreDouble();
    let now = NOON;
    const h = hasher({ saltSource: store.source, now: () => now });
    await h.ready();
    const day1 = Array.from({ length: 2000 }, (_, i) => h.mark(`198.51.100.${i % 256}`, `${UA} ${i}`, 's', now));
    now += DAY_MS;
    const day2 = Array.from({ length: 2000 }, (_, i) => h.mark(`198.51.100.${i % 256}`, `${UA} ${i}`, 's', now));
    expect(store.salts.get(dayLabel(DAY))).not.toBe(store.salts.get(dayLabel(DAY + 1)));
    const sameIndex = day1.filter((m, i) => markIndex(m) === markIndex(day2[i] as number)).length;
    expect(sameIndex).toBeLessThan(5); // expected 2000 / 16384 ≈ 0.12
  });

  it('different salts give different marks', () => {
    const a = hasher();
    const b = hasher();
    let same = 0;
    for (let i = 0; i < 1000; i++) {
      if (a.mark(`10.0.${i >> 8}.${i & 255}`, UA, 's', NOON) === b.mark(`10.0.${i >> 8}.${i & 255}`, UA, 's', NOON))
        same++;
    }
    expect(same).toBeLessThan(5);
  });

  it('several servers agree through a real shared store (two SQLite connections, one file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privacy-log-salt-'));
    const one = sqliteAggregator({ file: join(dir, 'store.db') });
    const two = sqliteAggregator({ file: join(dir, 'store.db') });
    try {
      const h1 = hasher({ saltSource: (d, c) => one.salt(d, c), now: () => NOON });
      const h2 = hasher({ saltSource: (d, c) => two.salt(d, c), now: () => NOON });
      await Promise.all([h1.ready(), h2.ready()]);
      for (let i = 0; i < 100; i++) {
        expect(h1.mark(`192.0.2.${i}`, UA, 'oblachko', NOON)).toBe(h2.mark(`192.0.2.${i}`, UA, 'oblachko', NOON));
      }
      const stored = await one.salt(dayLabel(DAY), 'ffffffffffffffffffffffffffffffff');
      expect(isSalt(stored)).toBe(true);
      expect(h1.mark('192.0.2.1', UA, 'oblachko', NOON)).toBe(
        markWithKey(saltKey(stored), '192.0.2.1', UA, 'oblachko'),
      );
    } finally {
      await one.close();
      await two.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses the local candidate until the store answers, then the store’s salt', async () => {
    let answer: (salt: string) => void = () => {};
    const candidates: string[] = [];
    const h = hasher({
      now: () => NOON,
      saltSource: (_day, candidate) => {
        candidates.push(candidate);
        return new Promise<string>((resolve) => {
          answer = resolve;
        });
      },
    });
    await Promise.resolve();
    const [candidate] = candidates;
    expect(isSalt(candidate)).toBe(true);
    const before = h.mark('192.0.2.9', UA, 's', NOON);
    expect(before).toBe(markWithKey(saltKey(candidate as string), '192.0.2.9', UA, 's'));
    const shared = '0123456789abcdef0123456789abcdef';
    answer(shared);
    await h.ready();
    expect(h.mark('192.0.2.9', UA, 's', NOON)).toBe(markWithKey(saltKey(shared), '192.0.2.9', UA, 's'));
  });

  it('reports store failures with a coded error, keeps marking, and retries', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const errors: PrivacyLogError[] = [];
    let failing = true;
    const store = saltStoreDouble();
    const h = hasher({
      now: () => NOON,
      onError: (e) => errors.push(e),
      saltSource: async (day, candidate) => {
        if (failing) throw new Error('store down');
        return store.source(day, candidate);
      },
    });
    await expect(h.ready()).rejects.toSatisfy((e) => isPrivacyLogError(e, ERROR_CODES.STORE_UNAVAILABLE));
    expect(errors).toHaveLength(1);
    expect((errors[0] as PrivacyLogError).cause).toEqual(new Error('store down'));
    expect(markRank(h.mark('192.0.2.1', UA, 's', NOON))).toBeGreaterThanOrEqual(1);
    failing = false;
    await vi.advanceTimersByTimeAsync(SALT_RETRY_INITIAL_MS);
    expect(store.calls).toHaveLength(1);
    await h.ready();
    const agreed = store.salts.get(dayLabel(DAY)) as string;
    expect(h.mark('192.0.2.1', UA, 's', NOON)).toBe(markWithKey(saltKey(agreed), '192.0.2.1', UA, 's'));
  });

  it('ready() gives up with TIMEOUT when the store never answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const h = hasher({ now: () => NOON, saltSource: () => new Promise<string>(() => {}) });
    const ready = h.ready();
    const settled = expect(ready).rejects.toSatisfy((e) => isPrivacyLogError(e, ERROR_CODES.TIMEOUT));
    await vi.advanceTimersByTimeAsync(SALT_READY_TIMEOUT_MS);
    await settled;
    expect(markRank(h.mark('192.0.2.1', UA, 's', NOON))).toBeGreaterThanOrEqual(1);
  });

  it('rejects a store answer that is not a salt, keeping the local one', async () => {
    const errors: PrivacyLogError[] = [];
    const h = hasher({ now: () => NOON, onError: (e) => errors.push(e), saltSource: async () => 'not-a-salt' });
    await expect(h.ready()).rejects.toThrow(/not a 32-hex-digit salt/);
    expect(errors[0]?.code).toBe(ERROR_CODES.STORE_UNAVAILABLE);
    expect(markRank(h.mark('192.0.2.1', UA, 's', NOON))).toBeGreaterThanOrEqual(1);
  });

  it('prefetches tomorrow’s salt before midnight', async () => {
    const store = saltStoreDouble();
    let now = NOON;
    const h = hasher({ saltSource: store.source, now: () => now });
    await h.ready();
    expect(store.calls.map(([d]) => d)).toEqual([dayLabel(DAY)]);
    now = (DAY + 1) * DAY_MS - SALT_PREFETCH_LEAD_MS + 1;
    h.mark('192.0.2.1', UA, 's', now);
    await Promise.resolve();
    expect(store.calls.map(([d]) => d)).toEqual([dayLabel(DAY), dayLabel(DAY + 1)]);
    // A request a minute after midnight uses tomorrow's (agreed) salt.
    await new Promise((r) => setImmediate(r));
    const after = (DAY + 1) * DAY_MS + 60_000;
    const tomorrow = store.salts.get(dayLabel(DAY + 1)) as string;
    expect(h.mark('192.0.2.1', UA, 's', after)).toBe(markWithKey(saltKey(tomorrow), '192.0.2.1', UA, 's'));
  });

  it('throws CLOSED after close(), which is idempotent', () => {
    const h = hasher();
    h.close();
    h.close();
    try {
      h.mark('192.0.2.1', UA, 's', NOON);
      expect.unreachable();
    } catch (e) {
      expect(isPrivacyLogError(e, ERROR_CODES.CLOSED)).toBe(true);
    }
  });

  it('validates its options once, with "did you mean"', () => {
    expect(() => createVisitorHasher({ saltSauce: () => Promise.resolve('') } as never)).toThrow(
      /Did you mean "saltSource"/,
    );
    for (const bad of [{ saltSource: 'x' }, { now: 5 }, { onError: true }]) {
      try {
        createVisitorHasher(bad as never);
        expect.unreachable();
      } catch (e) {
        expect(isPrivacyLogError(e, ERROR_CODES.INVALID_OPTION)).toBe(true);
      }
    }
  });
});

describe('createDailySalts', () => {
  it('holds yesterday, today and (near midnight) tomorrow, and forgets older salts', () => {
    let now = NOON;
    const salts = createDailySalts({ now: () => now });
    try {
      expect(salts.daysInMemory()).toEqual([dayLabel(DAY)]);
      const todayKey = Array.from(salts.keyFor(now));
      // A late request from yesterday gets yesterday's own salt.
      salts.keyFor(NOON - DAY_MS);
      expect(salts.daysInMemory()).toEqual([dayLabel(DAY - 1), dayLabel(DAY)]);
      now = (DAY + 1) * DAY_MS - 1000;
      salts.keyFor(now);
      expect(salts.daysInMemory()).toEqual([dayLabel(DAY - 1), dayLabel(DAY), dayLabel(DAY + 1)]);
      now = (DAY + 1) * DAY_MS + 1000;
      salts.keyFor(now);
      expect(salts.daysInMemory()).toEqual([dayLabel(DAY), dayLabel(DAY + 1)]);
      now += 2 * DAY_MS;
      salts.keyFor(now);
      expect(salts.daysInMemory()).toEqual([dayLabel(DAY + 3)]);
      expect(Array.from(salts.keyFor(now))).not.toEqual(todayKey);
      // Times far from the clock use today's salt and create nothing.
      salts.keyFor(0);
      salts.keyFor(Number.NaN);
      salts.keyFor(now + 30 * DAY_MS);
      expect(salts.daysInMemory()).toEqual([dayLabel(DAY + 3)]);
    } finally {
      salts.close();
    }
    expect(salts.daysInMemory()).toEqual([]);
  });

  it('wipes the key material of dropped days', () => {
    let now = NOON;
    const salts = createDailySalts({ now: () => now });
    const key = salts.keyFor(now);
    expect(key.some((w) => w !== 0)).toBe(true);
    now += 3 * DAY_MS;
    salts.keyFor(now);
    expect(Array.from(key)).toEqual([0, 0, 0, 0]);
    salts.close();
  });
});

describe('markParsed: the address as capture parsed it', () => {
  it('property: the same mark as for the canonical text, and no residue in the scratch buffer', () => {
    const key = new Int32Array([0x01234567, 0x89abcdef, 0x0badf00d, 0x5eed1234]);
    const g = new Uint16Array(8);
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const v6 = fc
      .array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 })
      .map((x) => x.map((h) => h.toString(16)).join(':'));
    fc.assert(
      fc.property(
        fc.oneof(v4, v6, fc.constant('::ffff:192.0.2.1')),
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 40 }),
        (text, ua, site) => {
          const family = parseAddressInto(text, g);
          expect(family).not.toBe(0);
          const canonical = normalizeAddress(text)?.address as string;
          expect(markParsedWithKey(key, g, family as 4 | 6, ua, site)).toBe(markWithKey(key, canonical, ua, site));
          expect(scratchResidue()).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('hasher.markParsed agrees with hasher.mark and is closed with it', () => {
    const h = createVisitorHasher({ now: () => NOON });
    const g = new Uint16Array(8);
    const family = parseAddressInto('2001:db8:0:0:1::7', g) as 4 | 6;
    expect(h.markParsed(g, family, UA, 's', NOON)).toBe(h.mark('2001:db8::1:0:0:7', UA, 's', NOON));
    h.close();
    expect(() => h.markParsed(g, family, UA, 's', NOON)).toThrow();
  });
});
