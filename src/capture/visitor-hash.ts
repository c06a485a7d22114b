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
import { BYTES, OUT, SIP_SCRATCH_BYTES, scratchResidue, sipHash24, sipHash24Scratch, wipeScratch } from './siphash.js';

export { scratchResidue, sipHash24 };

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
// The UA (UTF-8), two separators, address and site with every unit escaped: it must fit the hash's scratch.
const INPUT_BYTES = VISITOR_INPUT_CAPS.userAgentBytes + 2 + (VISITOR_INPUT_CAPS.address + VISITOR_INPUT_CAPS.site) * 3;
if (INPUT_BYTES > SIP_SCRATCH_BYTES) throw new Error('visitor-hash: the input caps exceed the SipHash scratch buffer');
const UA_VIEW = BYTES.subarray(0, VISITOR_INPUT_CAPS.userAgentBytes);
const UTF8 = new TextEncoder();

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
