/**
 * SipHash-2-4 over a 16-byte address, in 32-bit arithmetic so it runs in
 * ~100 ns without allocating. The domain cache is keyed by this hash under a
 * random per-process key, never by the address (DESIGN §2).
 */
import { randomFillSync } from 'node:crypto';

/** A 128-bit SipHash key as four 32-bit words (k0 low, k0 high, k1 low, k1 high). */
export type SipKey = Uint32Array;

/** A fresh random key; it lives in memory only and is never persisted. */
export function randomSipKey(): SipKey {
  return randomFillSync(new Uint32Array(4));
}

/** A key from 16 bytes, read little-endian as the SipHash reference does. */
export function sipKeyFromBytes(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError('a SipHash key has 16 bytes');
  const k = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    k[i] =
      ((bytes[i * 4] as number) |
        ((bytes[i * 4 + 1] as number) << 8) |
        ((bytes[i * 4 + 2] as number) << 16) |
        ((bytes[i * 4 + 3] as number) << 24)) >>>
      0;
  }
  return k;
}

// state: v0l v0h v1l v1h v2l v2h v3l v3h
const v = new Uint32Array(8);

function rounds(n: number): void {
  let v0l = v[0] as number;
  let v0h = v[1] as number;
  let v1l = v[2] as number;
  let v1h = v[3] as number;
  let v2l = v[4] as number;
  let v2h = v[5] as number;
  let v3l = v[6] as number;
  let v3h = v[7] as number;
  let tl: number;
  let th: number;
  for (let r = 0; r < n; r++) {
    // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    tl = (v0l + v1l) >>> 0;
    v0h = (v0h + v1h + (tl < v0l ? 1 : 0)) >>> 0;
    v0l = tl;
    th = ((v1h << 13) | (v1l >>> 19)) >>> 0;
    v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
    v1h = th;
    v1l = (v1l ^ v0l) >>> 0;
    v1h = (v1h ^ v0h) >>> 0;
    tl = v0l;
    v0l = v0h;
    v0h = tl;
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    tl = (v2l + v3l) >>> 0;
    v2h = (v2h + v3h + (tl < v2l ? 1 : 0)) >>> 0;
    v2l = tl;
    th = ((v3h << 16) | (v3l >>> 16)) >>> 0;
    v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
    v3h = th;
    v3l = (v3l ^ v2l) >>> 0;
    v3h = (v3h ^ v2h) >>> 0;
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    tl = (v0l + v3l) >>> 0;
    v0h = (v0h + v3h + (tl < v0l ? 1 : 0)) >>> 0;
    v0l = tl;
    th = ((v3h << 21) | (v3l >>> 11)) >>> 0;
    v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
    v3h = th;
    v3l = (v3l ^ v0l) >>> 0;
    v3h = (v3h ^ v0h) >>> 0;
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    tl = (v2l + v1l) >>> 0;
    v2h = (v2h + v1h + (tl < v2l ? 1 : 0)) >>> 0;
    v2l = tl;
    th = ((v1h << 17) | (v1l >>> 15)) >>> 0;
    v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
    v1h = th;
    v1l = (v1l ^ v2l) >>> 0;
    v1h = (v1h ^ v2h) >>> 0;
    tl = v2l;
    v2l = v2h;
    v2h = tl;
  }
  v[0] = v0l;
  v[1] = v0h;
  v[2] = v1l;
  v[3] = v1h;
  v[4] = v2l;
  v[5] = v2h;
  v[6] = v3l;
  v[7] = v3h;
}

function bswap(x: number): number {
  return ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24)) >>> 0;
}

function absorb(ml: number, mh: number): void {
  v[6] = ((v[6] as number) ^ ml) >>> 0;
  v[7] = ((v[7] as number) ^ mh) >>> 0;
  rounds(2);
  v[0] = ((v[0] as number) ^ ml) >>> 0;
  v[1] = ((v[1] as number) ^ mh) >>> 0;
}

/** Result of the last {@link sipHash128}: the high 32 bits of the 64-bit hash. */
export let lastHashHigh = 0;

/**
 * SipHash-2-4 of the 16 bytes whose big-endian 32-bit words are w0…w3 (an IPv6
 * address in network byte order; IPv4 as `::ffff:a.b.c.d`). Returns the low 32
 * bits of the 64-bit result; the high 32 bits are in {@link lastHashHigh}.
 */
export function sipHash128(key: SipKey, w0: number, w1: number, w2: number, w3: number): number {
  const k0l = key[0] as number;
  const k0h = key[1] as number;
  const k1l = key[2] as number;
  const k1h = key[3] as number;
  v[0] = (k0l ^ 0x70736575) >>> 0;
  v[1] = (k0h ^ 0x736f6d65) >>> 0;
  v[2] = (k1l ^ 0x6e646f6d) >>> 0;
  v[3] = (k1h ^ 0x646f7261) >>> 0;
  v[4] = (k0l ^ 0x6e657261) >>> 0;
  v[5] = (k0h ^ 0x6c796765) >>> 0;
  v[6] = (k1l ^ 0x79746573) >>> 0;
  v[7] = (k1h ^ 0x74656462) >>> 0;
  absorb(bswap(w0), bswap(w1));
  absorb(bswap(w2), bswap(w3));
  absorb(0, 0x10000000); // length 16 in the top byte, no tail bytes
  v[4] = ((v[4] as number) ^ 0xff) >>> 0;
  rounds(4);
  const lo = ((v[0] as number) ^ (v[2] as number) ^ (v[4] as number) ^ (v[6] as number)) >>> 0;
  lastHashHigh = ((v[1] as number) ^ (v[3] as number) ^ (v[5] as number) ^ (v[7] as number)) >>> 0;
  return lo;
}

/**
 * The keyed hash of an address as a safe integer (53 of the 64 bits), for use
 * as a Map key. Words as in {@link sipHash128}.
 */
export function addressHashKey(key: SipKey, w0: number, w1: number, w2: number, w3: number): number {
  const lo = sipHash128(key, w0, w1, w2, w3);
  return (lastHashHigh & 0x1fffff) * 4294967296 + lo;
}
