/**
 * Unique visitors without identifiers (DESIGN §7): the visitor mark.
 *
 * A visitor is `full address | User-Agent | site`, hashed with SipHash-2-4 keyed
 * by the day's random 128-bit salt (see daily-salt.ts). Of the 64-bit hash only a
 * HyperLogLog register update survives — the mark, `packMark(index, rank)`:
 *
 * - index = the top {@link MARK_INDEX_BITS} (14) bits of the hash (0..16383);
 * - rank  = the number of leading zeros of the remaining {@link MARK_REST_BITS}
 *           (50) bits, plus one (1..{@link MARK_MAX_RANK}, i.e. 1..51).
 *
 * No address, User-Agent or hash is kept anywhere (there is no cache keyed by
 * them); the inputs are copied into one scratch buffer that is zeroed before the
 * call returns. Once a day's salt is deleted, no mark can be recomputed or linked
 * to an address or to another day.
 *
 * Why SipHash-2-4 in JavaScript: it is a keyed PRF built for short inputs, and a
 * 32-bit-word implementation is faster here than any node:crypto call, whose
 * per-call native overhead alone exceeds the budget (bench/consent-visitor.ts
 * prints all candidates side by side).
 *
 * Input encoding (injective, so different triples never collide by construction,
 * lone UTF-16 surrogates in the User-Agent aside): the User-Agent as UTF-8, the
 * byte 0xFF (which UTF-8 never contains), the address, 0xFF, the site; in the
 * address and site each code unit below 0x80 is one byte and any other unit the
 * three bytes `0xFE, high, low`. Fields are capped (see {@link VISITOR_INPUT_CAPS})
 * so a hostile 64 KiB User-Agent costs no more than a normal one.
 */
import {
  assertKnownKeys,
  ERROR_CODES,
  invalidOption,
  PrivacyLogError,
  type PrivacyLogErrorOptions,
} from '../errors.js';
import { packMark } from '../stats/visitor-mark.js';
import { writeAddressText } from './anonymize-ip.js';
import { createDailySalts, type DailySalts } from './daily-salt.js';

/** Bits of the hash that pick the HyperLogLog register (precision 14). */
export const MARK_INDEX_BITS = 14;
/** Bits of the hash whose leading zeros give the rank. */
export const MARK_REST_BITS = 64 - MARK_INDEX_BITS;
/** The largest rank: all 50 remaining bits zero. */
export const MARK_MAX_RANK = MARK_REST_BITS + 1;

/**
 * How much of each field enters the hash: the User-Agent's first
 * {@link VISITOR_INPUT_CAPS.userAgentBytes} bytes of UTF-8, the first code units
 * of the address and site. The rest is ignored, so hashing cost is bounded.
 */
export const VISITOR_INPUT_CAPS = { userAgentBytes: 1536, address: 64, site: 253 } as const;

const SEPARATOR = 0xff;
const ESCAPE = 0xfe;
// The UA (UTF-8), two separators, address and site with every unit escaped, one padding block.
const SCRATCH_BYTES =
  VISITOR_INPUT_CAPS.userAgentBytes + 2 + (VISITOR_INPUT_CAPS.address + VISITOR_INPUT_CAPS.site) * 3 + 16;
const SCRATCH = new ArrayBuffer(Math.ceil(SCRATCH_BYTES / 8) * 8);
const BYTES = new Uint8Array(SCRATCH);
const WORDS = new Int32Array(SCRATCH);
const UA_VIEW = BYTES.subarray(0, VISITOR_INPUT_CAPS.userAgentBytes);
const UTF8 = new TextEncoder();
/** Int32Array reads in platform order; SipHash wants little-endian words. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Append `s` (its first `cap` code units) to BYTES at `n`: units below 0x80 as
 * one byte, others as ESCAPE, high byte, low byte. Returns the new length.
 */
function putField(s: string, cap: number, n: number): number {
  const len = Math.min(s.length, cap);
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      BYTES[n++] = c;
    } else {
      BYTES[n++] = ESCAPE;
      BYTES[n++] = c >>> 8;
      BYTES[n++] = c & 0xff;
    }
  }
  return n;
}

/**
 * Zero the first `n` bytes of the scratch buffer (and its padding block), so no
 * address or User-Agent bytes outlive the call that hashed them.
 */
function wipeScratch(n: number): void {
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
const OUT = new Int32Array(2);

/**
 * SipHash-2-4 of the first `n` bytes of the scratch buffer under `key`
 * (`[k0 lo, k0 hi, k1 lo, k1 hi]`), on 32-bit halves. Writes the 64-bit result
 * to OUT. The round is written out twice (compression and finalization) because
 * a shared helper would have to pass eight words of state through memory.
 */
function sipHash24Scratch(key: Int32Array, n: number): void {
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

/**
 * SipHash-2-4 of raw bytes (at most the scratch size) under a 16-byte key,
 * as a 64-bit unsigned bigint. For tests and tools, not the request path.
 */
export function sipHash24(key: Uint8Array, message: Uint8Array): bigint {
  if (key.length !== 16) throw new RangeError('sipHash24: the key must be 16 bytes');
  if (message.length > BYTES.length - 16) throw new RangeError('sipHash24: message too long');
  const k = new Int32Array(4);
  for (let w = 0; w < 4; w++) {
    const o = w * 4;
    k[w] =
      (key[o] as number) |
      ((key[o + 1] as number) << 8) |
      ((key[o + 2] as number) << 16) |
      ((key[o + 3] as number) << 24);
  }
  BYTES.set(message, 0);
  sipHash24Scratch(k, message.length);
  wipeScratch(message.length);
  return (BigInt(OUT[0]! >>> 0) << 32n) | BigInt(OUT[1]! >>> 0);
}

/**
 * The bytes that enter the hash for one visitor (the documented injective
 * encoding, fields capped). For tests and tools; the request path writes them
 * straight into a scratch buffer.
 */
export function visitorInputBytes(address: string, userAgent: string, site: string): Uint8Array {
  const n = encodeVisitor(address, userAgent, site);
  const bytes = BYTES.slice(0, n);
  wipeScratch(n);
  return bytes;
}

function encodeVisitor(address: string, userAgent: string, site: string): number {
  // The UA goes first so the native encoder can write it at offset 0 into a fixed, capped view.
  let n = UTF8.encodeInto(userAgent, UA_VIEW).written;
  BYTES[n++] = SEPARATOR;
  n = putField(address, VISITOR_INPUT_CAPS.address, n);
  BYTES[n++] = SEPARATOR;
  return putField(site, VISITOR_INPUT_CAPS.site, n);
}

/** The same bytes as {@link encodeVisitor}, the address written from its parsed groups (no string made). */
function encodeVisitorParsed(groups: Uint16Array, family: 4 | 6, userAgent: string, site: string): number {
  let n = UTF8.encodeInto(userAgent, UA_VIEW).written;
  BYTES[n++] = SEPARATOR;
  n = writeAddressText(groups, family, BYTES, n);
  BYTES[n++] = SEPARATOR;
  return putField(site, VISITOR_INPUT_CAPS.site, n);
}

/** The mark of a 64-bit hash given as its two 32-bit halves. */
export function markOfHash(high: number, low: number): number {
  const index = high >>> (32 - MARK_INDEX_BITS);
  const rest = high & ((1 << (32 - MARK_INDEX_BITS)) - 1);
  // Leading zeros of the 50-bit remainder: 18 bits from `high`, then 32 from `low`.
  const rank = rest !== 0 ? Math.clz32(rest) - MARK_INDEX_BITS + 1 : 32 - MARK_INDEX_BITS + Math.clz32(low) + 1;
  return packMark(index, rank);
}

/** The mark of one visitor under a SipHash key (`[k0 lo, k0 hi, k1 lo, k1 hi]`). */
export function markWithKey(key: Int32Array, address: string, userAgent: string, site: string): number {
  const n = encodeVisitor(address, userAgent, site);
  sipHash24Scratch(key, n);
  wipeScratch(n);
  return markOfHash(OUT[0] as number, OUT[1] as number);
}

/**
 * {@link markWithKey} for an address already parsed into 8 groups of 16 bits
 * (IPv4 in groups 6–7): the same mark as for its canonical text.
 */
export function markParsedWithKey(
  key: Int32Array,
  groups: Uint16Array,
  family: 4 | 6,
  userAgent: string,
  site: string,
): number {
  const n = encodeVisitorParsed(groups, family, userAgent, site);
  sipHash24Scratch(key, n);
  wipeScratch(n);
  return markOfHash(OUT[0] as number, OUT[1] as number);
}

export interface VisitorHasherOptions {
  /**
   * The shared store of daily salts (e.g. an aggregator's `salt`): returns the
   * salt for `day` ('YYYY-MM-DD'), storing `candidate` if it has none (first
   * writer wins). Default: none — each process keeps its own salts in memory.
   */
  saltSource?: (day: string, candidate: string) => Promise<string>;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Called with a coded error when the salt store fails or answers nonsense; the
   * hasher keeps working on its local salt and retries. Default: none (the
   * failure is still visible through `ready()`).
   */
  onError?: (error: PrivacyLogError) => void;
}

export interface VisitorHasher {
  /**
   * The visitor mark (`packMark(index, rank)`, always ≥ 1) of a request from
   * `address` (the full client address, normalized by capture) with this
   * User-Agent on this site, at `timeMs` (the request's start). Synchronous;
   * allocates nothing but the UTF-8 encoder's small result object. Times outside
   * yesterday..tomorrow use today's salt.
   * Throws CLOSED after `close()`.
   */
  mark(address: string, userAgent: string, site: string, timeMs: number): number;
  /**
   * {@link VisitorHasher.mark} for an address capture has parsed already (8 groups
   * of 16 bits, IPv4 in groups 6–7, as `parseAddressInto` writes them): the same
   * mark as for the address's canonical text, without making that text.
   * Throws CLOSED after `close()`.
   */
  markParsed(groups: Uint16Array, family: 4 | 6, userAgent: string, site: string, timeMs: number): number;
  /**
   * Resolves once today's salt is agreed with `saltSource` (at once without one).
   * Rejects with STORE_UNAVAILABLE if the store failed, or TIMEOUT if it gave no
   * answer within 10 s; marks keep working on the local salt meanwhile and the
   * store is retried in the background.
   */
  ready(): Promise<void>;
  /** Stops background work and wipes every salt from memory. Idempotent. */
  close(): void;
}

const KNOWN_OPTIONS = ['saltSource', 'now', 'onError'] as const;
const WHERE = 'createVisitorHasher()';

/**
 * The unique-visitor hasher: daily-salted SipHash-2-4 of `address|UA|site`,
 * reduced to a HyperLogLog mark.
 *
 * @example
 * const hasher = createVisitorHasher({ saltSource: (day, c) => aggregator.salt!(day, c) });
 * await hasher.ready();
 * const mark = hasher.mark(clientAddress, userAgent, 'oblachko', Date.now());
 * // markIndex(mark) < 16384, 1 <= markRank(mark) <= 51
 */
export function createVisitorHasher(options: VisitorHasherOptions = {}): VisitorHasher {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption(WHERE, 'options', 'an object');
  }
  assertKnownKeys(options, KNOWN_OPTIONS, WHERE);
  if (options.saltSource !== undefined && typeof options.saltSource !== 'function') {
    throw invalidOption(WHERE, 'saltSource', 'a function (day, candidate) => Promise<string>');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidOption(WHERE, 'now', 'a function returning epoch milliseconds');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalidOption(WHERE, 'onError', 'a function (error) => void');
  }
  const salts: DailySalts = createDailySalts({
    saltSource: options.saltSource,
    now: options.now ?? Date.now,
    onError: options.onError,
  });
  let closed = false;
  return {
    mark(address: string, userAgent: string, site: string, timeMs: number): number {
      if (closed) throw closedError();
      // Defensive: a missing header must not crash the request path.
      return markWithKey(
        salts.keyFor(timeMs),
        typeof address === 'string' ? address : '',
        typeof userAgent === 'string' ? userAgent : '',
        typeof site === 'string' ? site : '',
      );
    },
    markParsed(groups: Uint16Array, family: 4 | 6, userAgent: string, site: string, timeMs: number): number {
      if (closed) throw closedError();
      return markParsedWithKey(
        salts.keyFor(timeMs),
        groups,
        family === 4 ? 4 : 6,
        typeof userAgent === 'string' ? userAgent : '',
        typeof site === 'string' ? site : '',
      );
    },
    ready: () => salts.ready(),
    close(): void {
      if (closed) return;
      closed = true;
      salts.close();
    },
  };
}

function closedError(options?: PrivacyLogErrorOptions): PrivacyLogError {
  return new PrivacyLogError(
    ERROR_CODES.CLOSED,
    'createVisitorHasher(): mark() was called after close(); create a new hasher, or close it only after the server has stopped.',
    { retryable: false, ...options },
  );
}
