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

function bswap(x: number): number {
  return ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24)) >>> 0;
}

/** Result of the last {@link sipHash128}: the high 32 bits of the 64-bit hash. */
export let lastHashHigh = 0;

/**
 * SipHash-2-4 of the 16 bytes whose big-endian 32-bit words are w0…w3 (an IPv6
 * address in network byte order; IPv4 as `::ffff:a.b.c.d`). Returns the low 32
 * bits of the 64-bit result; the high 32 bits are in {@link lastHashHigh}.
 * All state lives in locals: no allocation, no memory traffic.
 */
export function sipHash128(key: SipKey, w0: number, w1: number, w2: number, w3: number): number {
  const k0l = key[0] as number;
  const k0h = key[1] as number;
  const k1l = key[2] as number;
  const k1h = key[3] as number;
  let v0l = (k0l ^ 0x70736575) >>> 0;
  let v0h = (k0h ^ 0x736f6d65) >>> 0;
  let v1l = (k1l ^ 0x6e646f6d) >>> 0;
  let v1h = (k1h ^ 0x646f7261) >>> 0;
  let v2l = (k0l ^ 0x6e657261) >>> 0;
  let v2h = (k0h ^ 0x6c796765) >>> 0;
  let v3l = (k1l ^ 0x79746573) >>> 0;
  let v3h = (k1h ^ 0x74656462) >>> 0;
  let tl: number;
  let th: number;
  // blocks 0, 1: the message (little-endian words); 2: the length block; 3: finalization
  for (let block = 0; block < 4; block++) {
    let ml = 0;
    let mh = 0;
    let n = 2;
    if (block === 0) {
      ml = bswap(w0);
      mh = bswap(w1);
    } else if (block === 1) {
      ml = bswap(w2);
      mh = bswap(w3);
    } else if (block === 2) {
      mh = 0x10000000; // length 16 in the top byte, no tail bytes
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      n = 4;
    }
    v3l = (v3l ^ ml) >>> 0;
    v3h = (v3h ^ mh) >>> 0;
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
    v0l = (v0l ^ ml) >>> 0;
    v0h = (v0h ^ mh) >>> 0;
  }
  lastHashHigh = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

/**
 * The keyed hash of an address as a safe integer (53 of the 64 bits), for use
 * as a Map key. Words as in {@link sipHash128}.
 */
export function addressHashKey(key: SipKey, w0: number, w1: number, w2: number, w3: number): number {
  const lo = sipHash128(key, w0, w1, w2, w3);
  return (lastHashHigh & 0x1fffff) * 4294967296 + lo;
}
