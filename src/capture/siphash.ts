/**
 * SipHash-2-4 (Aumasson & Bernstein), the one implementation in privacy-log: the
 * visitor mark (visitor-hash.ts, `address | User-Agent | site` under the day's
 * salt) and the reverse-DNS cache key (src/enrich/siphash.ts, the 16 address
 * bytes under a per-process key) both hash bytes written into this module's
 * scratch buffer, which they zero before returning.
 *
 * 32-bit arithmetic on the halves of each 64-bit word, all state in locals and
 * kept in int32 range (`| 0`), so V8 keeps it in registers: faster than any
 * node:crypto call, whose per-call native overhead alone exceeds the capture
 * budget (bench/consent-visitor.ts compares them).
 */

/** Bytes of the scratch buffer a message may use (one padding block follows them). */
export const SIP_SCRATCH_BYTES = 4096;
const SCRATCH = new ArrayBuffer(SIP_SCRATCH_BYTES + 16);
/** The message bytes of the next hash; zeroed by {@link wipeScratch}. */
export const BYTES = new Uint8Array(SCRATCH);
const WORDS = new Int32Array(SCRATCH);
/** Int32Array reads in platform order; SipHash wants little-endian words. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Zero the first `n` bytes of the scratch buffer (and its padding block), so no
 * address or User-Agent bytes outlive the call that hashed them.
 */
export function wipeScratch(n: number): void {
  for (let w = 0, end = (n + 11) >>> 2; w < end; w++) WORDS[w] = 0;
}

/** Non-zero bytes left in the scratch buffer: 0 after every public call (for tests). */
export function scratchResidue(): number {
  let count = 0;
  for (let i = 0; i < BYTES.length; i++) if (BYTES[i] !== 0) count++;
  return count;
}

/** Little-endian 32-bit word `w` of BYTES. */
function word(w: number): number {
  if (LITTLE_ENDIAN) return WORDS[w] as number;
  const o = w * 4;
  return (
    (BYTES[o] as number) |
    ((BYTES[o + 1] as number) << 8) |
    ((BYTES[o + 2] as number) << 16) |
    ((BYTES[o + 3] as number) << 24)
  );
}

/** Result of the last {@link sipHash24Scratch}: [high 32 bits, low 32 bits]. */
export const OUT = new Int32Array(2);

/**
 * SipHash-2-4 of the first `n` bytes of the scratch buffer under `key`
 * (`[k0 lo, k0 hi, k1 lo, k1 hi]`), on 32-bit halves. Writes the 64-bit result
 * to OUT. The round is written out twice (compression and finalization) because
 * a shared helper would have to pass eight words of state through memory.
 */
export function sipHash24Scratch(key: Int32Array, n: number): void {
  const k0l = key[0] as number;
  const k0h = key[1] as number;
  const k1l = key[2] as number;
  const k1h = key[3] as number;
  // "somepseudorandomlygeneratedbytes"
  let v0l = k0l ^ 0x70736575;
  let v0h = k0h ^ 0x736f6d65;
  let v1l = k1l ^ 0x6e646f6d;
  let v1h = k1h ^ 0x646f7261;
  let v2l = k0l ^ 0x6e657261;
  let v2h = k0h ^ 0x6c796765;
  let v3l = k1l ^ 0x79746573;
  let v3h = k1h ^ 0x74656462;
  // Zero the tail so the last partial block is padded with zeros.
  for (let i = n, end = n + 8; i < end; i++) BYTES[i] = 0;
  const blocks = n >>> 3;
  let t = 0;
  for (let b = 0; b <= blocks; b++) {
    const ml = word(b * 2);
    // The final block carries the message length (mod 256) in its top byte.
    const mh = b < blocks ? word(b * 2 + 1) : word(b * 2 + 1) | ((n & 0xff) << 24);
    v3l ^= ml;
    v3h ^= mh;
    for (let r = 0; r < 2; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      t = (v0l + v1l) | 0;
      v0h = (v0h + v1h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
      v0l = t;
      t = (v1h << 13) | (v1l >>> 19);
      v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
      v1h = t ^ v0h;
      t = v0l;
      v0l = v0h;
      v0h = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      t = (v2l + v3l) | 0;
      v2h = (v2h + v3h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
      v2l = t;
      t = (v3h << 16) | (v3l >>> 16);
      v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
      v3h = t ^ v2h;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      t = (v0l + v3l) | 0;
      v0h = (v0h + v3h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
      v0l = t;
      t = (v3h << 21) | (v3l >>> 11);
      v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
      v3h = t ^ v0h;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      t = (v2l + v1l) | 0;
      v2h = (v2h + v1h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
      v2l = t;
      t = (v1h << 17) | (v1l >>> 15);
      v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
      v1h = t ^ v2h;
      t = v2l;
      v2l = v2h;
      v2h = t;
    }
    v0l ^= ml;
    v0h ^= mh;
  }
  v2l ^= 0xff;
  for (let r = 0; r < 4; r++) {
    t = (v0l + v1l) | 0;
    v0h = (v0h + v1h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = t;
    t = (v1h << 13) | (v1l >>> 19);
    v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
    v1h = t ^ v0h;
    t = v0l;
    v0l = v0h;
    v0h = t;
    t = (v2l + v3l) | 0;
    v2h = (v2h + v3h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = t;
    t = (v3h << 16) | (v3l >>> 16);
    v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
    v3h = t ^ v2h;
    t = (v0l + v3l) | 0;
    v0h = (v0h + v3h + (t >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = t;
    t = (v3h << 21) | (v3l >>> 11);
    v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
    v3h = t ^ v0h;
    t = (v2l + v1l) | 0;
    v2h = (v2h + v1h + (t >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = t;
    t = (v1h << 17) | (v1l >>> 15);
    v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
    v1h = t ^ v2h;
    t = v2l;
    v2l = v2h;
    v2h = t;
  }
  OUT[0] = v0h ^ v1h ^ v2h ^ v3h;
  OUT[1] = v0l ^ v1l ^ v2l ^ v3l;
}

/** `x` with its four bytes reversed. */
function bswap(x: number): number {
  return (x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
}

/**
 * SipHash-2-4 of the 16 bytes whose big-endian 32-bit words are w0…w3 (an IPv6
 * address in network byte order), written straight into the scratch buffer as
 * words and zeroed after. The result is in {@link OUT}.
 */
export function sipHash24Words4(key: Int32Array, w0: number, w1: number, w2: number, w3: number): void {
  if (LITTLE_ENDIAN) {
    WORDS[0] = bswap(w0);
    WORDS[1] = bswap(w1);
    WORDS[2] = bswap(w2);
    WORDS[3] = bswap(w3);
  } else {
    WORDS[0] = w0;
    WORDS[1] = w1;
    WORDS[2] = w2;
    WORDS[3] = w3;
  }
  sipHash24Scratch(key, 16);
  WORDS[0] = 0;
  WORDS[1] = 0;
  WORDS[2] = 0;
  WORDS[3] = 0;
  WORDS[4] = 0;
  WORDS[5] = 0;
}

/**
 * SipHash-2-4 of raw bytes (at most {@link SIP_SCRATCH_BYTES}) under a 16-byte
 * key, as a 64-bit unsigned bigint. For tests and tools, not the request path.
 */
export function sipHash24(key: Uint8Array, message: Uint8Array): bigint {
  if (key.length !== 16) throw new RangeError('sipHash24: the key must be 16 bytes');
  if (message.length > SIP_SCRATCH_BYTES) throw new RangeError('sipHash24: message too long');
  BYTES.set(message, 0);
  sipHash24Scratch(sipKeyFromBytes(key), message.length);
  wipeScratch(message.length);
  return (BigInt(OUT[0]! >>> 0) << 32n) | BigInt(OUT[1]! >>> 0);
}

/**
 * A SipHash key (`[k0 lo, k0 hi, k1 lo, k1 hi]`) from its 16 bytes, read
 * little-endian as the reference does.
 */
export function sipKeyFromBytes(bytes: Uint8Array): Int32Array {
  if (bytes.length !== 16) throw new RangeError('a SipHash key has 16 bytes');
  const k = new Int32Array(4);
  for (let w = 0; w < 4; w++) {
    const o = w * 4;
    k[w] =
      (bytes[o] as number) |
      ((bytes[o + 1] as number) << 8) |
      ((bytes[o + 2] as number) << 16) |
      ((bytes[o + 3] as number) << 24);
  }
  return k;
}
