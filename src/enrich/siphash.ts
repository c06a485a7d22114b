/**
 * The keyed hash of a client address for the reverse-DNS cache (DESIGN §2): the
 * cache is keyed by this hash under a random per-process key, never by the
 * address. SipHash-2-4 of the 16 address bytes (network order; IPv4 as
 * `::ffff:a.b.c.d`), computed by the one SipHash implementation
 * (src/capture/siphash.ts) in its scratch buffer, which is zeroed after each call.
 */
import { randomFillSync } from 'node:crypto';
import { OUT, sipHash24Words4 } from '../capture/siphash.js';

/** A key from 16 bytes, read little-endian as the SipHash reference does. */
export { sipKeyFromBytes } from '../capture/siphash.js';

/** A 128-bit SipHash key as four 32-bit words (k0 low, k0 high, k1 low, k1 high). */
export type SipKey = Int32Array;

/** A fresh random key; it lives in memory only and is never persisted. */
export function randomSipKey(): SipKey {
  return randomFillSync(new Int32Array(4));
}

/** Result of the last {@link sipHash128}: the high 32 bits of the 64-bit hash. */
export let lastHashHigh = 0;

/**
 * SipHash-2-4 of the 16 bytes whose big-endian 32-bit words are w0…w3 (an IPv6
 * address in network byte order; IPv4 as `::ffff:a.b.c.d`). Returns the low 32
 * bits of the 64-bit result; the high 32 bits are in {@link lastHashHigh}.
 */
export function sipHash128(key: SipKey, w0: number, w1: number, w2: number, w3: number): number {
  sipHash24Words4(key, w0, w1, w2, w3);
  lastHashHigh = (OUT[0] as number) >>> 0;
  return (OUT[1] as number) >>> 0;
}

/**
 * The keyed hash of an address as a safe integer (53 of the 64 bits), for use
 * as a Map key. Words as in {@link sipHash128}.
 */
export function addressHashKey(key: SipKey, w0: number, w1: number, w2: number, w3: number): number {
  const lo = sipHash128(key, w0, w1, w2, w3);
  return (lastHashHigh & 0x1fffff) * 4294967296 + lo;
}
