import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressHashKey,
  lastHashHigh,
  randomSipKey,
  sipHash128,
  sipKeyFromBytes,
} from '../../../src/enrich/siphash.js';

/** SipHash-2-4 straight from the paper, in BigInt: the reference the fast version is checked against. */
function referenceSipHash(key: Uint8Array, msg: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M;
  const le = (b: Uint8Array, o: number, n = 8) => {
    let x = 0n;
    for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[o + i] ?? 0);
    return x;
  };
  const k0 = le(key, 0);
  const k1 = le(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = msg.length - (msg.length % 8);
  for (let o = 0; o < full; o += 8) {
    const m = le(msg, o);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  const b = (BigInt(msg.length & 255) << 56n) | le(msg, full, msg.length - full);
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

function fast(key: Uint8Array, msg: Uint8Array): bigint {
  const dv = new DataView(msg.buffer, msg.byteOffset, 16);
  const lo = sipHash128(sipKeyFromBytes(key), dv.getUint32(0), dv.getUint32(4), dv.getUint32(8), dv.getUint32(12));
  return (BigInt(lastHashHigh) << 32n) | BigInt(lo);
}

describe('SipHash-2-4', () => {
  it('the reference matches the published test vectors', () => {
    expect(referenceSipHash(KEY, new Uint8Array(0))).toBe(0x726fdb47dd0e0e31n);
    expect(
      referenceSipHash(
        KEY,
        Uint8Array.from({ length: 15 }, (_, i) => i),
      ),
    ).toBe(0xa129ca6149be45e5n);
  });

  it('the 32-bit implementation equals the reference on 16-byte messages (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (key, msg) => {
          expect(fast(key, msg)).toBe(referenceSipHash(key, msg));
        },
      ),
    );
    const msg = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect(fast(KEY, msg)).toBe(referenceSipHash(KEY, msg));
  });

  it('gives safe-integer keys that depend on the key and on every word', () => {
    const k1 = randomSipKey();
    const k2 = sipKeyFromBytes(randomBytes(16));
    const a = addressHashKey(k1, 0, 0, 0xffff, 0x5f1f0102);
    expect(Number.isSafeInteger(a)).toBe(true);
    expect(addressHashKey(k1, 0, 0, 0xffff, 0x5f1f0102)).toBe(a);
    expect(addressHashKey(k2, 0, 0, 0xffff, 0x5f1f0102)).not.toBe(a);
    expect(addressHashKey(k1, 0, 0, 0xffff, 0x5f1f0103)).not.toBe(a);
    expect(addressHashKey(k1, 1, 0, 0xffff, 0x5f1f0102)).not.toBe(a);
  });

  it('rejects a key of the wrong size', () => {
    expect(() => sipKeyFromBytes(new Uint8Array(8))).toThrow(RangeError);
  });
});
