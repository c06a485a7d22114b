/**
 * IP truncation at capture (DESIGN §5).
 *
 * Only strictly valid addresses are addresses here: a dotted quad of four decimal
 * octets without leading zeros, or an IPv6 address in RFC 4291 text form (an
 * embedded dotted quad allowed at the end). The inet_aton forms that many parsers
 * accept — `127.1`, `0177.0.0.1`, `0x7f.1`, `2130706433` — are not addresses: they
 * become `'unknown'`, because a trusted-proxy check and a truncation that read them
 * differently would disagree about who the client is.
 *
 * The parser is hand-written (no regex, no library call, no cache): addresses are
 * never used as cache keys, and the scratch buffer is zeroed after every call so
 * no full address outlives it.
 */

import { assertKnownKeys, invalidOption } from '../errors.js';

export interface IpOptions {
  /** Bits of an IPv4 address kept, 0–24. Default 24 (16 with `preset: 'strict'`). */
  ipv4Prefix?: number;
  /** Bits of an IPv6 address kept, 0–64. Default 48 (32 with `preset: 'strict'`). */
  ipv6Prefix?: number;
  /** `'default'` keeps /24 and /48; `'strict'` keeps /16 and /32. Explicit prefixes win over the preset. */
  preset?: 'default' | 'strict';
}

export interface AnonymizedAddress {
  /** The truncated address in canonical form, or `'unknown'`. */
  address: string;
  /** The bits kept; 0 for `'unknown'`. */
  prefixLength: number;
  /** 4 or 6; 0 for `'unknown'`. */
  family: 4 | 6 | 0;
}

export const DEFAULT_IPV4_PREFIX = 24;
export const DEFAULT_IPV6_PREFIX = 48;
export const STRICT_IPV4_PREFIX = 16;
export const STRICT_IPV6_PREFIX = 32;
/** The longest prefixes truncation may keep: beyond them an address starts to point at a household. */
export const MAX_IPV4_PREFIX = 24;
export const MAX_IPV6_PREFIX = 64;

const IP_OPTION_KEYS = ['ipv4Prefix', 'ipv6Prefix', 'preset'] as const;
const WHERE = 'privacyLog({ ip })';
/** Longest text form worth parsing: a full IPv6 with an embedded IPv4 and a zone id. */
const MAX_INPUT_LENGTH = 100;

/** The one value every unparsable address becomes. Shared and frozen. */
export const UNKNOWN_ADDRESS: AnonymizedAddress = Object.freeze({ address: 'unknown', prefixLength: 0, family: 0 });

// Scratch for one IPv6 parse; zeroed after each use.
const groups = new Uint16Array(8);

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;
const CH_OPEN_BRACKET = 91;

/** Parses a strict dotted quad in s[start, end) to an unsigned 32-bit number, or -1. */
function parseIpv4(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let first = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= CH_0 && c <= CH_9) {
      if (digits === 0) first = c;
      else if (first === CH_0) return -1; // leading zero: an octal form to inet_aton
      if (++digits > 3) return -1;
      octet = octet * 10 + (c - CH_0);
    } else if (c === CH_DOT) {
      if (digits === 0 || octet > 255 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0 || octet > 255) return -1;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * Parses a strict IPv6 text form in s[from, end) into `groups`. Returns false when it
 * is not one. Accepts `::` once, 1–4 hex digits a group, and a trailing dotted quad.
 */
function parseIpv6(s: string, from: number, end: number, groups: Uint16Array): boolean {
  let n = 0; // groups written
  let gap = -1; // index in groups where '::' stands
  let i = from;
  if (end - from < 2) return false;
  if (s.charCodeAt(from) === CH_COLON) {
    if (s.charCodeAt(from + 1) !== CH_COLON) return false;
    gap = 0;
    i = from + 2;
    if (i === end) {
      groups.fill(0);
      return true;
    }
  }
  while (i < end) {
    if (n === 8) return false;
    const start = i;
    let v = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    const len = i - start;
    if (i < end && s.charCodeAt(i) === CH_DOT) {
      // A trailing dotted quad takes the last two groups.
      if (n > 6) return false;
      const v4 = parseIpv4(s, start, end);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (len === 0 || len > 4) return false;
    groups[n++] = v;
    if (i === end) break;
    if (s.charCodeAt(i) !== CH_COLON) return false;
    i++;
    if (i < end && s.charCodeAt(i) === CH_COLON) {
      if (gap >= 0) return false; // '::' twice
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // trailing single ':'
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false; // '::' must stand for at least one group
  const tail = n - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k] as number;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Every bit of every group: the masks of the full address. */
const FULL_MASKS = new Uint16Array(8).fill(0xffff);

/**
 * The longest run (≥ 2) of zero groups of `groups & masks`, the first on a tie,
 * as `start * 16 + length`; -1 when there is none (RFC 5952 §4.2).
 */
function longestZeroRun(groups: Uint16Array, masks: Uint16Array): number {
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (((groups[k] as number) & (masks[k] as number)) !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && ((groups[e] as number) & (masks[e] as number)) === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  return bestStart < 0 ? -1 : bestStart * 16 + bestLen;
}

/** RFC 5952 text of `groups & masks`: lowercase, no leading zeros, the longest zero run (≥ 2) as '::'. */
function formatIpv6(groups: Uint16Array, masks: Uint16Array): string {
  const run = longestZeroRun(groups, masks);
  const bestStart = run < 0 ? -1 : run >>> 4;
  const bestLen = run & 15;
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      out += k === 0 ? '::' : ':';
      k += bestLen - 1;
      continue;
    }
    out += ((groups[k] as number) & (masks[k] as number)).toString(16);
    if (k < 7) out += ':';
  }
  return out;
}

/** Writes the decimal digits of 0–255 at `n`; returns the new length. */
function putOctet(v: number, out: Uint8Array, n: number): number {
  if (v >= 100) out[n++] = CH_0 + ((v / 100) | 0);
  if (v >= 10) out[n++] = CH_0 + (((v / 10) | 0) % 10);
  out[n++] = CH_0 + (v % 10);
  return n;
}

/** Writes the lowercase hex digits of a 16-bit group, no leading zeros, at `n`; returns the new length. */
function putHextet(v: number, out: Uint8Array, n: number): number {
  let shift = 12;
  while (shift > 0 && v >>> shift === 0) shift -= 4;
  for (; shift >= 0; shift -= 4) {
    const d = (v >>> shift) & 15;
    out[n++] = d < 10 ? CH_0 + d : 87 + d;
  }
  return n;
}

/**
 * Writes the canonical text of a parsed full address (what {@link normalizeAddress}
 * returns, as ASCII bytes) into `out` at `n`, without making a string: the full
 * address never exists as a JavaScript string on the capture path. Returns the
 * new length (at most `n + 39`).
 * @internal for the visitor hash (visitor-hash.ts).
 */
export function writeAddressText(groups: Uint16Array, family: 4 | 6, out: Uint8Array, n: number): number {
  if (family === 4) {
    const hi = groups[6] as number;
    const lo = groups[7] as number;
    n = putOctet(hi >>> 8, out, n);
    out[n++] = CH_DOT;
    n = putOctet(hi & 255, out, n);
    out[n++] = CH_DOT;
    n = putOctet(lo >>> 8, out, n);
    out[n++] = CH_DOT;
    return putOctet(lo & 255, out, n);
  }
  const run = longestZeroRun(groups, FULL_MASKS);
  const bestStart = run < 0 ? -1 : run >>> 4;
  const bestLen = run & 15;
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      out[n++] = CH_COLON;
      if (k === 0) out[n++] = CH_COLON;
      k += bestLen - 1;
      continue;
    }
    n = putHextet(groups[k] as number, out, n);
    if (k < 7) out[n++] = CH_COLON;
  }
  return n;
}

function isIpv4Mapped(groups: Uint16Array): boolean {
  return (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff
  );
}

/**
 * Parses the strictly valid address in s[from, end) into `out`: 4 (IPv4 value in
 * `out[6..7]`, IPv4-mapped IPv6 included), 6, or 0 when it is not one. An IPv6
 * zone id (`%eth0`) is ignored; IPv4 has none.
 */
function parseRangeInto(s: string, from: number, end: number, out: Uint16Array): 0 | 4 | 6 {
  if (end - from < 1 || end - from > MAX_INPUT_LENGTH) return 0;
  // A dotted quad first (the common case): it stops at the first other character,
  // so a zone ('%') or an IPv6 colon makes it fail at once.
  const v4 = parseIpv4(s, from, end);
  if (v4 >= 0) {
    out.fill(0);
    out[6] = v4 >>> 16;
    out[7] = v4 & 0xffff;
    return 4;
  }
  const colon = s.indexOf(':', from);
  if (colon < 0 || colon >= end) return 0;
  let e = end;
  const pct = s.indexOf('%', from);
  if (pct >= 0 && pct < end) {
    if (pct === end - 1) return 0; // an empty zone
    e = pct;
  }
  if (!parseIpv6(s, from, e, out)) return 0;
  if (isIpv4Mapped(out)) {
    out[5] = 0;
    return 4;
  }
  return 6;
}

/**
 * Parses a strictly valid address into `out` (8 groups of 16 bits) without
 * allocating: returns 4 with the IPv4 value in `out[6..7]` (the rest zero) —
 * IPv4-mapped IPv6 included — or 6 for IPv6, or 0 when `s` is not an address.
 * A zone id is ignored. The caller owns `out` and should zero it after use.
 * @internal shared with client-ip.ts for trusted-proxy matching.
 */
export function parseAddressInto(s: string, out: Uint16Array): 0 | 4 | 6 {
  return typeof s === 'string' ? parseRangeInto(s, 0, s.length, out) : 0;
}

/** True when s[from, end) is a port: 1–5 decimal digits, at most 65535. */
function isPort(s: string, from: number, end: number): boolean {
  if (end - from < 1 || end - from > 5) return false;
  let v = 0;
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < CH_0 || c > CH_9) return false;
    v = v * 10 + (c - CH_0);
  }
  return v <= 65535;
}

/**
 * Like {@link parseAddressInto}, and also accepts the forms proxies write into
 * X-Forwarded-For with a port: `203.0.113.7:5123` (a dotted quad, one colon) and
 * `[2001:db8::1]:443` or `[2001:db8::1]` (IPv6 in brackets). The port is ignored.
 * @internal for the client address (capture, trusted-proxy matching).
 *
 * @example
 * parseClientAddressInto('[2001:db8::1]:443', groups); // 6
 * parseClientAddressInto('203.0.113.7:5123', groups);  // 4
 * parseClientAddressInto('203.0.113.7:99999', groups); // 0
 */
export function parseClientAddressInto(s: string, out: Uint16Array): 0 | 4 | 6 {
  if (typeof s !== 'string') return 0;
  const len = s.length;
  if (len === 0 || len > MAX_INPUT_LENGTH + 8) return 0;
  if (s.charCodeAt(0) === CH_OPEN_BRACKET) {
    const close = s.indexOf(']', 1);
    if (close < 0) return 0;
    if (close + 1 !== len && !(s.charCodeAt(close + 1) === CH_COLON && isPort(s, close + 2, len))) return 0;
    const colon = s.indexOf(':', 1);
    if (colon < 0 || colon > close) return 0; // only IPv6 goes in brackets
    return parseRangeInto(s, 1, close, out);
  }
  const colon = s.indexOf(':');
  if (colon >= 0 && s.indexOf(':', colon + 1) < 0) {
    // One colon: a dotted quad and a port (any IPv6 text has two colons or more).
    return isPort(s, colon + 1, len) && parseRangeInto(s, 0, colon, out) === 4 ? 4 : 0;
  }
  return parseRangeInto(s, 0, len, out);
}

/**
 * Parses `s` as a strictly valid address and returns its canonical text: a dotted
 * quad, or RFC 5952 IPv6. IPv4-mapped IPv6 becomes IPv4; a zone id is dropped.
 * Returns `undefined` for anything else. For enrichment lookups and keyed hashing
 * inside capture only — the result is a full address.
 *
 * @example
 * normalizeAddress('::FFFF:203.0.113.9'); // { address: '203.0.113.9', family: 4 }
 * normalizeAddress('0x7f.1');             // undefined
 */
export function normalizeAddress(s: string | undefined): { address: string; family: 4 | 6 } | undefined {
  if (typeof s !== 'string') return undefined;
  const family = parseAddressInto(s, groups);
  let out: { address: string; family: 4 | 6 } | undefined;
  if (family === 4) out = { address: formatIpv4((groups[6] as number) * 65536 + (groups[7] as number)), family: 4 };
  else if (family === 6) out = { address: formatIpv6(groups, FULL_MASKS), family: 6 };
  groups.fill(0);
  return out;
}

/**
 * {@link normalizeAddress} for a client address as proxies write it: a port
 * (`203.0.113.7:5123`, `[2001:db8::1]:443`) is accepted and dropped.
 *
 * @example
 * normalizeClientAddress('[2001:DB8::1]:443'); // { address: '2001:db8::1', family: 6 }
 */
export function normalizeClientAddress(s: string | undefined): { address: string; family: 4 | 6 } | undefined {
  if (typeof s !== 'string') return undefined;
  const family = parseClientAddressInto(s, groups);
  let out: { address: string; family: 4 | 6 } | undefined;
  if (family === 4) out = { address: formatIpv4((groups[6] as number) * 65536 + (groups[7] as number)), family: 4 };
  else if (family === 6) out = { address: formatIpv6(groups, FULL_MASKS), family: 6 };
  groups.fill(0);
  return out;
}

function checkPrefix(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalidOption(WHERE, field, `an integer from 0 to ${max} (got ${String(value)})`);
  }
  return value;
}

/** Slots of the truncator's text cache per family (a power of two), and the shift that maps a 32-bit hash to one. */
const TEXT_SLOTS = 256;
const TEXT_SLOT_SHIFT = 24;

/** Truncation of an already parsed address (see {@link createAddressTruncator}). */
export interface AddressTruncator {
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  /**
   * The truncated text of the address parsed into `groups` (family 4 or 6), in
   * canonical form. `groups` is only read.
   */
  text(groups: Uint16Array, family: 4 | 6): string;
}

/**
 * The truncation step alone, for a caller that has parsed the address already
 * (capture parses the client address once, then truncates, hashes and looks it up).
 * Options are validated here, as by {@link createIpAnonymizer}.
 *
 * @example
 * const truncate = createAddressTruncator({ preset: 'strict' });
 * const g = new Uint16Array(8);
 * truncate.text(g, parseAddressInto('203.0.113.77', g) as 4); // '203.0.0.0'
 */
export function createAddressTruncator(options: IpOptions = {}): AddressTruncator {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(WHERE, 'ip', 'an object such as { preset: "strict" }');
  }
  assertKnownKeys(options, IP_OPTION_KEYS, WHERE);
  const preset = options.preset ?? 'default';
  if (preset !== 'default' && preset !== 'strict') {
    throw invalidOption(WHERE, 'preset', `'default' or 'strict' (got ${JSON.stringify(preset)})`);
  }
  const v4Prefix =
    options.ipv4Prefix === undefined
      ? preset === 'strict'
        ? STRICT_IPV4_PREFIX
        : DEFAULT_IPV4_PREFIX
      : checkPrefix(options.ipv4Prefix, 'ipv4Prefix', MAX_IPV4_PREFIX);
  const v6Prefix =
    options.ipv6Prefix === undefined
      ? preset === 'strict'
        ? STRICT_IPV6_PREFIX
        : DEFAULT_IPV6_PREFIX
      : checkPrefix(options.ipv6Prefix, 'ipv6Prefix', MAX_IPV6_PREFIX);

  // Precomputed masks: one 32-bit mask for IPv4, one 16-bit mask per IPv6 group.
  const v4Mask = v4Prefix === 0 ? 0 : (0xffffffff << (32 - v4Prefix)) >>> 0;
  const v6Masks = new Uint16Array(8);
  for (let k = 0; k < 8; k++) {
    const bits = Math.max(0, Math.min(16, v6Prefix - k * 16));
    v6Masks[k] = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  }
  // The texts of recently seen networks, direct-mapped by a hash of the truncated
  // address and compared exactly: a visitor's next request (and its neighbours')
  // reuses one string instead of formatting a new one that every event would keep.
  // Only truncated addresses are held, the same text the events carry.
  const v4Keys = new Uint32Array(TEXT_SLOTS);
  const v4Texts: Array<string | undefined> = new Array(TEXT_SLOTS).fill(undefined);
  const v6Keys = new Uint16Array(TEXT_SLOTS * 8);
  const v6Texts: Array<string | undefined> = new Array(TEXT_SLOTS).fill(undefined);
  // The truncated groups of the IPv6 address at hand (masked once, then hashed, compared and kept).
  const masked = new Uint16Array(8);
  return {
    ipv4Prefix: v4Prefix,
    ipv6Prefix: v6Prefix,
    text(g: Uint16Array, family: 4 | 6): string {
      if (family === 4) {
        const v4 = ((((g[6] as number) << 16) | (g[7] as number)) & v4Mask) >>> 0;
        const slot = Math.imul(v4, 0x9e3779b1) >>> TEXT_SLOT_SHIFT;
        const hit = v4Texts[slot];
        if (hit !== undefined && v4Keys[slot] === v4) return hit;
        const text = formatIpv4(v4);
        v4Keys[slot] = v4;
        v4Texts[slot] = text;
        return text;
      }
      let h = 0;
      for (let k = 0; k < 8; k++) {
        masked[k] = (g[k] as number) & (v6Masks[k] as number);
        h = Math.imul(h ^ (masked[k] as number), 0x9e3779b1);
      }
      const slot = h >>> TEXT_SLOT_SHIFT;
      const at = slot * 8;
      const hit = v6Texts[slot];
      if (hit !== undefined) {
        let same = true;
        for (let k = 0; k < 8 && same; k++) same = v6Keys[at + k] === masked[k];
        if (same) return hit;
      }
      const text = formatIpv6(g, v6Masks);
      v6Keys.set(masked, at);
      v6Texts[slot] = text;
      return text;
    },
  };
}

/**
 * Creates the truncating anonymizer. Options are validated once; the returned
 * function never throws and allocates only its result.
 *
 * @example
 * const anonymize = createIpAnonymizer();            // /24 and /48
 * anonymize('203.0.113.77');                         // { address: '203.0.113.0', prefixLength: 24, family: 4 }
 * anonymize('2001:db8:abcd:12::1');                  // { address: '2001:db8:abcd::', prefixLength: 48, family: 6 }
 * createIpAnonymizer({ preset: 'strict' })('::ffff:203.0.113.77'); // '203.0.0.0', /16
 * anonymize('127.1');                                // { address: 'unknown', prefixLength: 0, family: 0 }
 */
export function createIpAnonymizer(options: IpOptions = {}): (address: string | undefined) => AnonymizedAddress {
  const truncate = createAddressTruncator(options);
  return function anonymizeIp(address: string | undefined): AnonymizedAddress {
    if (typeof address !== 'string') return UNKNOWN_ADDRESS;
    const family = parseAddressInto(address, groups);
    let out: AnonymizedAddress = UNKNOWN_ADDRESS;
    if (family === 4) out = { address: truncate.text(groups, 4), prefixLength: truncate.ipv4Prefix, family: 4 };
    else if (family === 6) out = { address: truncate.text(groups, 6), prefixLength: truncate.ipv6Prefix, family: 6 };
    groups.fill(0);
    return out;
  };
}
