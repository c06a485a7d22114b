/**
 * Address → numbers, without allocating: the only place enrichment reads the
 * full address. Everything downstream gets either the routable prefix (ISP) or
 * a keyed hash (domain cache).
 */

/** The routable prefix length the ISP lookup uses for IPv4 (DESIGN §5). */
export const IPV4_ROUTABLE_PREFIX = 24;
/** The routable prefix length the ISP lookup uses for IPv6 (DESIGN §5). */
export const IPV6_ROUTABLE_PREFIX = 48;

const hextets = new Uint16Array(8);

/**
 * A strict dotted-quad IPv4 address as an unsigned 32-bit integer, or -1.
 * Exactly four decimal parts 0–255, no leading zeros, nothing else.
 */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}

/**
 * An IPv6 address (RFC 4291 text forms: `::` once at most, an optional trailing
 * dotted quad, no zone id) into four big-endian 32-bit words. Returns false,
 * leaving `out` unspecified, when the text is not an address.
 */
export function parseIPv6(s: string, out: Uint32Array): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58 /* : */) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out[0] = out[1] = out[2] = out[3] = 0;
      return true;
    }
  }
  while (i < n) {
    let value = 0;
    let digits = 0;
    const start = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      else break;
      value = value * 16 + d;
      digits++;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46 /* . */) {
      // trailing dotted quad: takes the last two hextets
      if (count > 6) return false;
      const v4 = parseIPv4(s, start, n);
      if (v4 < 0) return false;
      hextets[count++] = v4 >>> 16;
      hextets[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    hextets[count++] = value;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n) {
      return false; // trailing single colon
    }
  }
  if (gap < 0) {
    if (count !== 8) return false;
  } else {
    if (count > 7) return false;
    const move = count - gap;
    for (let k = 0; k < move; k++) hextets[7 - k] = hextets[count - 1 - k] as number;
    for (let k = gap; k < 8 - move; k++) hextets[k] = 0;
  }
  out[0] = (((hextets[0] as number) << 16) | (hextets[1] as number)) >>> 0;
  out[1] = (((hextets[2] as number) << 16) | (hextets[3] as number)) >>> 0;
  out[2] = (((hextets[4] as number) << 16) | (hextets[5] as number)) >>> 0;
  out[3] = (((hextets[6] as number) << 16) | (hextets[7] as number)) >>> 0;
  return true;
}

/** The /24 of an IPv4 address (its top 24 bits) as an integer 0 … 2^24−1. */
export function ipv4Prefix(address: number): number {
  return address >>> 8;
}

/** The /48 of an IPv6 address (its top 48 bits) as an integer 0 … 2^48−1. */
export function ipv6Prefix(words: Uint32Array): number {
  return (words[0] as number) * 65536 + ((words[1] as number) >>> 16);
}

/**
 * The network address of a routable prefix in text form: `'203.0.113.0'`,
 * `'2001:db8:abcd::'`. For resolvers that look up by string (mmdb).
 */
export function prefixText(family: 4 | 6, prefix: number): string {
  if (family === 4) return `${prefix >>> 16}.${(prefix >>> 8) & 255}.${prefix & 255}.0`;
  const h0 = Math.floor(prefix / 4294967296);
  const low = prefix % 4294967296;
  const h1 = low >>> 16;
  const h2 = low & 0xffff;
  if (h2 !== 0) return `${h0.toString(16)}:${h1.toString(16)}:${h2.toString(16)}::`;
  if (h1 !== 0) return `${h0.toString(16)}:${h1.toString(16)}::`;
  return h0 !== 0 ? `${h0.toString(16)}::` : '::';
}
