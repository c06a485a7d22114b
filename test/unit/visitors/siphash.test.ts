import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { saltKey } from '../../../src/capture/daily-salt.js';
import {
  MARK_MAX_RANK,
  markOfHash,
  markWithKey,
  sipHash24,
  VISITOR_INPUT_CAPS,
  visitorInputBytes,
} from '../../../src/capture/visitor-hash.js';
import { markIndex, markRank, packMark } from '../../../src/stats/visitor-mark.js';

/** SipHash-2-4 straight from the paper's description, on bigints: the reference for the 32-bit implementation. */
function referenceSipHash24(key: Uint8Array, m: Uint8Array): bigint {
  const MASK = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & MASK;
  const le = (bytes: Uint8Array, o: number) => {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[o + i] ?? 0);
    return v;
  };
  const k0 = le(key, 0);
  const k1 = le(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & MASK;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & MASK;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & MASK;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = m.length - (m.length % 8);
  const last = new Uint8Array(8);
  last.set(m.subarray(full));
  last[7] = m.length & 0xff;
  for (let o = 0; o <= full; o += 8) {
    const w = o < full ? le(m, o) : le(last, 0);
    v3 ^= w;
    round();
    round();
    v0 ^= w;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
// Published SipHash-2-4 vectors: key 00..0f, message 00..(n-1).
const VECTORS: Array<[number, bigint]> = [
  [0, 0x726fdb47dd0e0e31n],
  [1, 0x74f839c593dc67fdn],
  [7, 0xab0200f58b01d137n],
  [8, 0x93f5f5799a932462n],
  [15, 0xa129ca6149be45e5n],
  [16, 0x3f2acc7f57c29bdbn],
  [63, 0x958a324ceb064572n],
];

describe('SipHash-2-4', () => {
  it.each(VECTORS)('matches the published vector for %i bytes', (n, expected) => {
    expect(sipHash24(KEY, seq(n))).toBe(expected);
    expect(referenceSipHash24(KEY, seq(n))).toBe(expected);
  });

  it('the 32-bit implementation equals the bigint reference on random keys and messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 300 }), (k, m) => {
        expect(sipHash24(k, m)).toBe(referenceSipHash24(k, m));
      }),
      { numRuns: 500 },
    );
  });
});

describe('visitor marks', () => {
  it('derive index from the top 14 bits and rank from the leading zeros of the other 50, plus one', () => {
    expect(markOfHash(0xffffffff | 0, 0)).toBe(packMark(16383, 1));
    expect(markOfHash(0x00020000, 0)).toBe(packMark(0, 1)); // bit 49 of the rest set
    expect(markOfHash(0x00010000, 0)).toBe(packMark(0, 2));
    expect(markOfHash(0x00000001, 0)).toBe(packMark(0, 18));
    expect(markOfHash(0, 0x80000000 | 0)).toBe(packMark(0, 19));
    expect(markOfHash(0, 1)).toBe(packMark(0, 50));
    expect(markOfHash(0, 0)).toBe(packMark(0, MARK_MAX_RANK));
    expect(markOfHash(0x0007ffff, -1)).toBe(packMark(1, 1));
    expect(markOfHash(0x0004ffff, -1)).toBe(packMark(1, 3));
    expect(MARK_MAX_RANK).toBe(51);
  });

  it('a mark is the mark of the reference SipHash of the documented encoding', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.string({ maxLength: 50 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ maxLength: 30 }),
        (k, address, ua, site) => {
          const h = referenceSipHash24(k, visitorInputBytes(address, ua, site));
          const expected = markOfHash(Number(h >> 32n) | 0, Number(h & 0xffffffffn) | 0);
          const key = saltKey(Buffer.from(k).toString('hex'));
          expect(markWithKey(key, address, ua, site)).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('encodes the documented bytes: UA as UTF-8, 0xFF, address, 0xFF, site (non-ASCII escaped)', () => {
    expect([...visitorInputBytes('1.2', 'Mo', 'é')]).toEqual([
      0x4d, 0x6f, 0xff, 0x31, 0x2e, 0x32, 0xff, 0xfe, 0x00, 0xe9,
    ]);
    expect([...visitorInputBytes('', 'é', '')]).toEqual([0xc3, 0xa9, 0xff, 0xff]);
  });

  it('the encoding is injective: different triples give different bytes', () => {
    const field = fc.string({
      unit: fc.constantFrom('a', '|', '\u00ff', '\u0100', '\ufffe', '\u00fe', '\u00ff'),
      maxLength: 4,
    });
    fc.assert(
      fc.property(fc.tuple(field, field, field), fc.tuple(field, field, field), (a, b) => {
        fc.pre(a.join('\u0000') !== b.join('\u0000'));
        expect(Buffer.from(visitorInputBytes(...a)).equals(Buffer.from(visitorInputBytes(...b)))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('caps each field, so a 64 KiB User-Agent hashes like its first bytes', () => {
    const key = saltKey('00112233445566778899aabbccddeeff');
    const long = 'A'.repeat(64 * 1024);
    expect(visitorInputBytes('1.2.3.4', long, 's').length).toBe(VISITOR_INPUT_CAPS.userAgentBytes + 2 + 7 + 1);
    expect(markWithKey(key, '1.2.3.4', long, 's')).toBe(
      markWithKey(key, '1.2.3.4', 'A'.repeat(VISITOR_INPUT_CAPS.userAgentBytes), 's'),
    );
    const m = markWithKey(key, 'x'.repeat(10_000), '\ud800'.repeat(10_000), '\u4e00'.repeat(10_000));
    expect(markIndex(m)).toBeLessThan(16384);
    expect(markRank(m)).toBeGreaterThanOrEqual(1);
  });
});
