/**
 * PTR name → registrable domain through the Public Suffix List (tldts):
 * `95-31-1-2.dynamic.rostelecom.ru` → `rostelecom.ru`. Only the registrable
 * domain is ever kept — the PTR name often spells the address out.
 */
import { getDomain } from 'tldts';

/** Longest hostname accepted (RFC 1035 limit in text form, without the root dot). */
export const MAX_HOSTNAME_LENGTH = 253;
/** Longest label accepted. */
export const MAX_LABEL_LENGTH = 63;

const WITH_PRIVATE = { allowPrivateDomains: true, extractHostname: false, validateHostname: false } as const;
const ICANN_ONLY = { allowPrivateDomains: false, extractHostname: false, validateHostname: false } as const;

/** Lower-cased hostname without the root dot, or undefined when `name` is not one. */
export function normalizeHostname(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  let n = name.length;
  if (n > 0 && name.charCodeAt(n - 1) === 46) n--;
  if (n === 0 || n > MAX_HOSTNAME_LENGTH) return undefined;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      if (label === 0) return undefined;
      label = 0;
      continue;
    }
    const ok =
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 /* - */ || c === 95; /* _ */
    if (!ok || ++label > MAX_LABEL_LENGTH) return undefined;
  }
  if (label === 0) return undefined;
  return name.slice(0, n).toLowerCase();
}

function runs(domain: string, radix: number): number[] {
  const out: number[] = [];
  for (const part of domain.split(radix === 10 ? /[^0-9]+/ : /[^0-9a-f]+/)) {
    if (part === '') continue;
    if (radix === 10 && !/^\d{1,3}$/.test(part)) continue;
    if (radix === 16 && part.length > 4) continue;
    out.push(Number.parseInt(part, radix));
  }
  return out;
}

function containsSequence(hay: readonly number[], needle: readonly number[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * True when `domain` spells out the address: its four IPv4 octets in order or
 * reversed, the address as 8 hex digits, or an IPv6 interface identifier.
 */
export function embedsAddress(domain: string, family: 4 | 6, words: ArrayLike<number>): boolean {
  if (family === 4) {
    const a = words[3] as number;
    const octets = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
    const found = runs(domain, 10);
    if (containsSequence(found, octets) || containsSequence(found, octets.slice().reverse())) return true;
    if (domain.includes(a.toString(16).padStart(8, '0'))) return true;
    return domain.replace(/[^0-9]/g, '').includes(String(a >>> 0)) && String(a >>> 0).length >= 8;
  }
  const w2 = words[2] as number;
  const w3 = words[3] as number;
  if (w2 === 0 && w3 === 0) return false;
  const iid = [w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  const found = runs(domain, 16);
  if (containsSequence(found, iid)) return true;
  const hex = (w2.toString(16).padStart(8, '0') + w3.toString(16).padStart(8, '0')).replace(/^0+/, '');
  return hex.length >= 8 && domain.replace(/[^0-9a-f]/g, '').includes(hex);
}

/**
 * The registrable domain of a PTR name, or undefined for names with control
 * characters or other non-hostname bytes, oversized names or labels, names
 * without a registrable domain, and domains that spell out the address.
 * Private PSL suffixes (`spb.ru`, `com.ru`) are honoured unless the result
 * would spell out the address; then the ICANN suffix is used
 * (`ec2-…compute-1.amazonaws.com` → `amazonaws.com`).
 *
 * @example
 * registrableDomain('95-31-1-2.dynamic.rostelecom.ru', 4, [0, 0, 0xffff, 0x5f1f0102]); // 'rostelecom.ru'
 */
export function registrableDomain(ptr: unknown, family: 4 | 6, words: ArrayLike<number>): string | undefined {
  const host = normalizeHostname(ptr);
  if (host === undefined) return undefined;
  let domain = getDomain(host, WITH_PRIVATE);
  if (domain === null || embedsAddress(domain, family, words)) domain = getDomain(host, ICANN_ONLY);
  if (domain === null || domain === '' || embedsAddress(domain, family, words)) return undefined;
  return detached(domain);
}

/**
 * A fresh copy of a string. tldts returns a slice of the PTR name, and V8 keeps
 * a slice's parent alive: a cached `rostelecom.ru` would hold on to
 * `95-31-1-2.dynamic.rostelecom.ru`, address and all (the heap canary test
 * catches exactly this). Names are ASCII here, so latin1 round-trips exactly.
 */
function detached(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}
