/**
 * The client address behind trusted proxies, with proxy-addr semantics on both
 * frameworks (DESIGN §5): walk from the socket address leftwards through
 * X-Forwarded-For while the hop is trusted; the client is the closest untrusted
 * address. Koa's own `ctx.ip` is not used.
 *
 * `proxy-addr` is the reference: it validates every configured entry, and the
 * unit tests compare this walk with `proxyaddr()` on random inputs. The per-request
 * work is done here instead, because proxy-addr's trust check (ipaddr.js 1.x,
 * which throws internally while probing address families) costs several
 * microseconds per hop — more than the whole capture budget. One difference, on
 * the safe side: an inet_aton form in X-Forwarded-For (`0x7f.1`, `127.1`) is never
 * a trusted proxy. A configured subnet that proxy-addr would accept but that can
 * match nothing (IPv4-mapped IPv6 shorter than /96) is refused at startup.
 *
 * The full address returned here exists only inside capture; it is truncated
 * before anything else sees it.
 */

import proxyaddr from 'proxy-addr';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import { parseAddressInto, parseClientAddressInto } from './anonymize-ip.js';

/**
 * Which proxies to trust:
 * - `false` (default): none — the socket address is the client;
 * - a number: that many hops (the socket peer counts as the first);
 * - a string (comma-separated allowed) or a list: addresses, CIDRs (`10.0.0.0/8`,
 *   `10.0.0.0/255.0.0.0`) and the named sets `loopback`, `linklocal`, `uniquelocal`;
 * - a function `(address, hop) => boolean` deciding per hop (hop 0 is the socket peer).
 */
export type TrustProxy = false | number | string | readonly string[] | ((address: string, hop: number) => boolean);

/** A validated, precompiled {@link TrustProxy}. Build it once with {@link compileTrustProxy}. */
export type CompiledTrust =
  | { readonly kind: 'none' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'list' | 'fn'; readonly trust: (address: string, hop: number) => boolean };

/** X-Forwarded-For beyond this many characters is cut from the left (the client's side). */
export const MAX_FORWARDED_FOR_LENGTH = 4096;
/** X-Forwarded-For entries beyond this many, counted from the right, are ignored. */
export const MAX_FORWARDED_HOPS = 64;

/** The named sets, as proxy-addr defines them. */
export const NAMED_TRUST_SETS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
});

const WHERE = 'privacyLog()';
const NONE: CompiledTrust = Object.freeze({ kind: 'none' });

/** One trusted subnet: 8 masked 16-bit groups (IPv4 in groups 6–7) and their masks. */
interface Subnet {
  family: 4 | 6;
  net: Uint16Array;
  mask: Uint16Array;
}

function badTrust(message: string, value: unknown, cause?: unknown): PrivacyLogError {
  return new PrivacyLogError(ERROR_CODES.INVALID_OPTION, `${WHERE}: option "trustProxy" ${message}`, {
    retryable: false,
    cause,
    details: { option: 'trustProxy', value: typeof value === 'function' ? 'function' : value },
  });
}

function maskFor(family: 4 | 6, prefix: number): Uint16Array {
  const mask = new Uint16Array(8);
  const offset = family === 4 ? 96 : 0; // IPv4 lives in the last 32 bits
  for (let k = 0; k < 8; k++) {
    const bits = Math.max(0, Math.min(16, prefix + offset - k * 16));
    mask[k] = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
  }
  if (family === 4) mask.fill(0, 0, 6);
  return mask;
}

/** A contiguous IPv4 netmask (255.255.0.0) as a prefix length, or -1. */
function netmaskPrefix(text: string): number {
  const g = new Uint16Array(8);
  if (text.indexOf(':') >= 0 || parseAddressInto(text, g) !== 4) return -1;
  const v = (((g[6] as number) << 16) | (g[7] as number)) >>> 0;
  const inverted = ~v >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return -1; // not contiguous
  return 32 - Math.log2(inverted + 1);
}

/** Parses one entry (address or CIDR) into a subnet; undefined when it can match nothing, null when malformed. */
function parseSubnet(entry: string): Subnet | undefined | null {
  const slash = entry.lastIndexOf('/');
  const text = slash < 0 ? entry : entry.slice(0, slash);
  const g = new Uint16Array(8);
  const hasMappedForm = text.indexOf(':') >= 0;
  const family = parseAddressInto(text, g);
  if (family === 0) return null;
  const max = family === 4 && !hasMappedForm ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const range = entry.slice(slash + 1);
    if (/^[0-9]+$/.test(range)) prefix = Number.parseInt(range, 10);
    else if (max === 32) prefix = netmaskPrefix(range);
    else return null;
    if (!(prefix > 0 && prefix <= max)) return null;
  }
  if (family === 4 && max === 128) {
    // Written as IPv4-mapped IPv6 with a range: proxy-addr lets it match IPv4 only from /96 on.
    if (prefix < 96) return undefined;
    prefix -= 96;
  }
  const mask = maskFor(family, prefix);
  for (let k = 0; k < 8; k++) g[k] = (g[k] as number) & (mask[k] as number);
  return { family, net: g, mask };
}

function compileSubnets(subnets: readonly Subnet[]): (address: string, hop: number) => boolean {
  const scratch = new Uint16Array(8);
  return function isTrustedProxy(address: string): boolean {
    // A proxy's own entry may carry a port ('10.0.0.2:8080', '[fd00::2]:443'): the address decides.
    const family = parseClientAddressInto(address, scratch);
    let trusted = false;
    if (family !== 0) {
      for (let s = 0; s < subnets.length && !trusted; s++) {
        const subnet = subnets[s] as Subnet;
        if (subnet.family !== family) continue;
        let k = family === 4 ? 6 : 0;
        for (; k < 8; k++) {
          if (((scratch[k] as number) & (subnet.mask[k] as number)) !== subnet.net[k]) break;
        }
        trusted = k === 8;
      }
    }
    scratch.fill(0);
    return trusted;
  };
}

/**
 * Validates and precompiles a `trustProxy` option, once, at factory time.
 * Throws INVALID_OPTION naming the bad value. `true` is refused: it would trust
 * the left-most X-Forwarded-For entry, which any client can write.
 *
 * @example
 * const trust = compileTrustProxy('loopback, 10.0.0.0/8');
 * resolveClientAddress('127.0.0.1', '198.51.100.7, 10.1.2.3', trust); // '198.51.100.7'
 */
export function compileTrustProxy(trust: TrustProxy = false): CompiledTrust {
  if (trust === false || trust === undefined || trust === null) return NONE;
  if ((trust as unknown) === true) {
    throw badTrust(
      'must not be true: that would trust every proxy, so the client would be the left-most X-Forwarded-For entry, ' +
        'which any client can forge. Give the number of proxies in front of the app (e.g. 1) or their addresses ' +
        "(e.g. 'loopback' or ['10.0.0.0/8']).",
      true,
    );
  }
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0 || trust > MAX_FORWARDED_HOPS) {
      throw badTrust(`must be a whole number of hops from 0 to ${MAX_FORWARDED_HOPS} (got ${String(trust)}).`, trust);
    }
    return trust === 0 ? NONE : Object.freeze({ kind: 'hops', hops: trust });
  }
  if (typeof trust === 'function') {
    const user = trust;
    // A trust function that throws must not crash the request: that hop is not trusted.
    const safe = (address: string, hop: number): boolean => {
      try {
        return user(address, hop) === true;
      } catch {
        return false;
      }
    };
    return Object.freeze({ kind: 'fn', trust: safe });
  }
  let list: unknown[];
  if (typeof trust === 'string') list = trust.split(',');
  else if (Array.isArray(trust)) list = [...(trust as readonly unknown[])];
  else {
    throw badTrust(
      `must be false, a number of hops, an address/CIDR string or list, or a function (got ${typeof trust}).`,
      String(trust),
    );
  }
  const subnets: Subnet[] = [];
  for (const raw of list) {
    if (typeof raw !== 'string')
      throw badTrust(`entries must be strings (got ${typeof raw} ${String(raw)}).`, String(raw));
    const entry = raw.trim();
    if (entry === '') continue;
    const expanded = Object.hasOwn(NAMED_TRUST_SETS, entry) ? (NAMED_TRUST_SETS[entry] as readonly string[]) : [entry];
    for (const one of expanded) {
      let subnet: Subnet | undefined | null;
      try {
        proxyaddr.compile(one); // the reference decides what is acceptable
        subnet = parseSubnet(one);
      } catch (cause) {
        throw badTrust(
          `has an entry that is neither an address, a CIDR, nor one of ${Object.keys(NAMED_TRUST_SETS).join(', ')}: ${JSON.stringify(entry)}.`,
          entry,
          cause,
        );
      }
      if (subnet === null) {
        throw badTrust(
          `has an entry in a form other than a plain dotted quad or IPv6 address with an optional /prefix: ${JSON.stringify(entry)}.`,
          entry,
        );
      }
      if (subnet === undefined) {
        throw badTrust(
          `has an IPv4-mapped IPv6 subnet shorter than /96, which proxy-addr matches against no address: ${JSON.stringify(entry)}. Write it as an IPv4 CIDR instead.`,
          entry,
        );
      }
      subnets.push(subnet);
    }
  }
  if (subnets.length === 0) return NONE;
  return Object.freeze({ kind: 'list', trust: compileSubnets(subnets) });
}

const SPACE = 0x20;
const COMMA = 0x2c;

/**
 * The closest untrusted address: the socket address when nothing is trusted
 * (X-Forwarded-For is then never read), else the walk from the socket peer
 * leftwards through X-Forwarded-For, exactly as proxy-addr walks it (entries split
 * on commas, spaces trimmed, empty entries skipped). Only the right-most 4 KiB and
 * 64 entries are read. Never throws; a malformed entry that the walk reaches is
 * returned as is and becomes `'unknown'` when truncated. An entry with a port
 * (`203.0.113.7:5123`, `[2001:db8::1]:443`) is returned as is: the port is
 * ignored when the address is parsed, and for the trusted-subnet check (a trust
 * function sees the entry as written, as with proxy-addr).
 *
 * @example
 * const trust = compileTrustProxy(1);
 * resolveClientAddress('10.0.0.2', 'spoofed, 203.0.113.9', trust); // '203.0.113.9'
 */
export function resolveClientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: CompiledTrust,
): string | undefined {
  if (trust.kind === 'none' || typeof socketAddress !== 'string') return socketAddress;
  let xff: string;
  if (typeof forwardedFor === 'string') xff = forwardedFor;
  else if (Array.isArray(forwardedFor)) xff = forwardedFor.join(',');
  else return socketAddress;
  try {
    const hops = trust.kind === 'hops' ? trust.hops : 0;
    const check = trust.kind === 'hops' ? undefined : trust.trust;
    const len = xff.length;
    let from = 0;
    if (len > MAX_FORWARDED_FOR_LENGTH) {
      // Read only the right-most part; an entry cut in two is dropped.
      const comma = xff.indexOf(',', len - MAX_FORWARDED_FOR_LENGTH - 1);
      from = comma < 0 ? len : comma + 1;
    }
    // proxy-addr checks every address but the left-most one: `prev` is checked only
    // once an address further left is known to exist.
    let prev = socketAddress;
    let prevHop = 0;
    let end = len;
    let start = len;
    for (let i = len - 1; i >= from - 1; i--) {
      const c = i >= from ? xff.charCodeAt(i) : COMMA; // a virtual comma closes the left-most entry
      if (c === SPACE) {
        if (start === end) start = end = i;
        continue;
      }
      if (c !== COMMA) {
        start = i;
        continue;
      }
      if (start !== end) {
        if (check ? !check(prev, prevHop) : prevHop >= hops) return prev;
        prev = xff.substring(start, end);
        if (++prevHop >= MAX_FORWARDED_HOPS) return prev;
      }
      start = end = i;
    }
    return prev;
  } catch {
    return socketAddress;
  }
}
