/**
 * Referrer reduction at capture (DESIGN §4): an external referrer becomes its
 * host only — no path, no query, no userinfo, no port — typed as `search`,
 * `social` or `external`; a same-site referrer keeps its path, made safe and
 * redacted like the request path, without its query.
 *
 * The Referer header is parsed by hand (http and https only): nothing is thrown
 * for garbage, which simply yields no referrer.
 */

import { getDomainWithoutSuffix } from 'tldts';
import { assertKnownKeys, invalidOption } from '../errors.js';
import type { PrivacyEvent, ReferrerType } from '../event.js';
import { detach, redactPath } from './url.js';

export interface ReferrerOptions {
  /**
   * Hosts whose referrals are `search`. An entry matches the host and its
   * subdomains (`mail.ru` matches `go.mail.ru`); `name.*` matches that name under
   * any public suffix (`google.*` matches `www.google.co.uk`). Replaces
   * {@link DEFAULT_SEARCH_HOSTS}; spread it to extend.
   */
  searchHosts?: readonly string[];
  /** Hosts whose referrals are `social`, matched like `searchHosts`. Replaces {@link DEFAULT_SOCIAL_HOSTS}. */
  socialHosts?: readonly string[];
}

export const DEFAULT_SEARCH_HOSTS: readonly string[] = Object.freeze([
  'google.*',
  'yandex.*',
  'ya.ru',
  'bing.com',
  'duckduckgo.com',
  'mail.ru',
  'go.mail.ru',
  'nova.rambler.ru',
  'search.yahoo.com',
  'ecosia.org',
  'startpage.com',
  'qwant.com',
  'search.brave.com',
  'baidu.com',
  'seznam.cz',
  'naver.com',
]);

export const DEFAULT_SOCIAL_HOSTS: readonly string[] = Object.freeze([
  'vk.com',
  'vk.ru',
  'ok.ru',
  'my.mail.ru',
  't.me',
  'telegram.org',
  'dzen.ru',
  'zen.yandex.ru',
  'facebook.com',
  'fb.com',
  'instagram.com',
  'twitter.com',
  'x.com',
  't.co',
  'linkedin.com',
  'lnkd.in',
  'reddit.com',
  'youtube.com',
  'pinterest.com',
  'tiktok.com',
  'whatsapp.com',
  'wa.me',
  'viber.com',
  'threads.net',
  'bsky.app',
  'mastodon.social',
]);

/** Only this much of a Referer header is read. */
export const MAX_REFERER_INPUT_LENGTH = 4096;
/** What an IP-literal referrer host becomes: it is an address, and addresses are not kept. */
export const IP_REFERRER_HOST = 'ip-address';
const HOST_CACHE_SIZE = 512;

const WHERE = 'createReferrerReducer()';
const REFERRER_OPTION_KEYS = ['searchHosts', 'socialHosts'] as const;
const ENTRY_RE = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*(?:\.\*)?$/;
const HOST_CHAR = new Uint8Array(128);
for (const ch of 'abcdefghijklmnopqrstuvwxyz0123456789.-_') HOST_CHAR[ch.charCodeAt(0)] = 1;

type ExternalType = Exclude<ReferrerType, 'internal'>;

interface HostTables {
  exact: ReadonlyMap<string, ExternalType>;
  wildcard: ReadonlyMap<string, ExternalType>;
}

function compileHosts(
  list: unknown,
  field: 'searchHosts' | 'socialHosts',
  type: ExternalType,
  exact: Map<string, ExternalType>,
  wildcard: Map<string, ExternalType>,
): void {
  if (!Array.isArray(list)) {
    throw invalidOption(
      WHERE,
      field,
      `an array of host names such as ['example.com', 'google.*'] (got ${typeof list})`,
    );
  }
  for (const raw of list as readonly unknown[]) {
    const entry = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
    if (typeof entry !== 'string' || entry.length > 253 || !ENTRY_RE.test(entry)) {
      throw invalidOption(
        WHERE,
        field,
        `a list of host names ('example.com') or 'name.*' patterns — got ${JSON.stringify(raw)}`,
      );
    }
    if (entry.endsWith('.*')) wildcard.set(entry.slice(0, -2), type);
    else exact.set(entry, type);
  }
}

function classifyHost(host: string, tables: HostTables): ExternalType {
  // Longest matching entry first: the host itself, then each parent domain.
  let rest = host;
  for (;;) {
    const hit = tables.exact.get(rest);
    if (hit) return hit;
    const dot = rest.indexOf('.');
    if (dot < 0) break;
    rest = rest.slice(dot + 1);
  }
  if (tables.wildcard.size > 0) {
    const name = getDomainWithoutSuffix(host);
    const hit = name ? tables.wildcard.get(name) : undefined;
    if (hit) return hit;
  }
  return 'external';
}

/** Lowercases and checks a host name; undefined when it is not one. */
function cleanHost(raw: string): string | undefined {
  const n = raw.length;
  if (n === 0 || n > 253) return undefined;
  let lower = raw;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      lower = raw.toLowerCase();
      break;
    }
  }
  for (let i = 0; i < n; i++) {
    const c = lower.charCodeAt(i);
    if (c >= 128 || HOST_CHAR[c] === 0) return undefined;
  }
  const trimmed = lower.charCodeAt(n - 1) === 46 ? lower.slice(0, -1) : lower; // a trailing dot
  if (trimmed === '' || trimmed.charCodeAt(0) === 46 || trimmed.indexOf('..') >= 0) return undefined;
  return trimmed;
}

function isIpv4Literal(host: string): boolean {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return true;
}

function withoutWww(host: string): string {
  return host.startsWith('www.') ? host.slice(4) : host;
}

/**
 * Creates the referrer reducer. Host lists are validated and compiled once; the
 * classification of a host is cached (bounded; hosts only, never paths).
 *
 * Same site means: the referrer's host equals the site host (the Host header's
 * hostname), ignoring port, case and a leading `www.`.
 *
 * @example
 * const reduce = createReferrerReducer();
 * reduce('https://www.google.ru/search?q=detskiy+sad', 'oblachko.ru'); // { host: 'www.google.ru', type: 'search' }
 * reduce('https://oblachko.ru/news/42?utm_source=x', 'oblachko.ru');   // { host: 'oblachko.ru', path: '/news/42', type: 'internal' }
 * reduce('not a url', 'oblachko.ru');                                  // undefined
 */
export function createReferrerReducer(
  options: ReferrerOptions = {},
): (referer: string | undefined, siteHost: string | undefined) => PrivacyEvent['referrer'] | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(WHERE, 'options', "an object such as { searchHosts: ['google.*'] }");
  }
  assertKnownKeys(options, REFERRER_OPTION_KEYS, WHERE);
  const exact = new Map<string, ExternalType>();
  const wildcard = new Map<string, ExternalType>();
  compileHosts(options.searchHosts ?? DEFAULT_SEARCH_HOSTS, 'searchHosts', 'search', exact, wildcard);
  compileHosts(options.socialHosts ?? DEFAULT_SOCIAL_HOSTS, 'socialHosts', 'social', exact, wildcard);
  const tables: HostTables = { exact, wildcard };

  // Two generations of frozen external results, keyed by host: bounded at 2 × HOST_CACHE_SIZE / 2.
  let young = new Map<string, PrivacyEvent['referrer']>();
  let old = new Map<string, PrivacyEvent['referrer']>();
  const external = (host: string): PrivacyEvent['referrer'] => {
    let hit = young.get(host);
    if (hit) return hit;
    hit = old.get(host);
    if (!hit) {
      const kept = detach(host); // the key must not keep the whole Referer alive
      hit = Object.freeze({ host: kept, type: classifyHost(kept, tables) });
    }
    if (young.size >= HOST_CACHE_SIZE / 2) {
      old = young;
      young = new Map();
    }
    young.set(hit.host, hit);
    return hit;
  };

  let lastSite: string | undefined;
  let lastSiteKey = '';

  return function reduceReferrer(
    referer: string | undefined,
    siteHost: string | undefined,
  ): PrivacyEvent['referrer'] | undefined {
    if (typeof referer !== 'string' || referer.length < 8) return undefined;
    const s = referer.length > MAX_REFERER_INPUT_LENGTH ? referer.slice(0, MAX_REFERER_INPUT_LENGTH) : referer;
    // scheme: http:// or https://, any case
    if (
      (s.charCodeAt(0) | 0x20) !== 104 || // h
      (s.charCodeAt(1) | 0x20) !== 116 || // t
      (s.charCodeAt(2) | 0x20) !== 116 || // t
      (s.charCodeAt(3) | 0x20) !== 112 // p
    ) {
      return undefined;
    }
    let i: number;
    const c4 = s.charCodeAt(4);
    if (c4 === 58) i = 5;
    else if ((c4 | 0x20) === 115 && s.charCodeAt(5) === 58) i = 6;
    else return undefined;
    if (s.charCodeAt(i) !== 47 || s.charCodeAt(i + 1) !== 47) return undefined;
    i += 2;
    // authority: up to '/', '?', '#' or '\'
    let end = i;
    while (end < s.length) {
      const c = s.charCodeAt(end);
      if (c === 47 || c === 63 || c === 35 || c === 92) break;
      end++;
    }
    let authority = s.slice(i, end);
    const at = authority.lastIndexOf('@');
    if (at >= 0) authority = authority.slice(at + 1); // userinfo is never kept
    let host: string | undefined;
    if (authority.charCodeAt(0) === 91) {
      // [IPv6 literal]
      if (authority.indexOf(']') < 0) return undefined;
      host = IP_REFERRER_HOST;
    } else {
      const colon = authority.indexOf(':');
      host = cleanHost(colon < 0 ? authority : authority.slice(0, colon));
      if (host === undefined) return undefined;
      if (isIpv4Literal(host)) host = IP_REFERRER_HOST;
    }

    if (siteHost !== lastSite) {
      lastSite = siteHost;
      const colon = typeof siteHost === 'string' ? siteHost.indexOf(':') : -1;
      lastSiteKey =
        typeof siteHost === 'string' ? withoutWww((colon < 0 ? siteHost : siteHost.slice(0, colon)).toLowerCase()) : '';
    }
    if (lastSiteKey !== '' && host !== IP_REFERRER_HOST && withoutWww(host) === lastSiteKey) {
      let pathEnd = end;
      while (pathEnd < s.length) {
        const c = s.charCodeAt(pathEnd);
        if (c === 63 || c === 35) break;
        pathEnd++;
      }
      const rawPath = end < pathEnd ? s.slice(end, pathEnd) : '/';
      const reduced = redactPath(rawPath);
      // A path that is a slice of the header would keep its query alive.
      const path = reduced === rawPath ? detach(reduced) : reduced;
      return { host: detach(host), path: path === '' ? '/' : path, type: 'internal' };
    }
    return external(host);
  };
}
