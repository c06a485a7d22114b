/**
 * User-Agent reduction at capture (DESIGN §4): browser name, major version, OS
 * and a coarse OS version, device class and bot flag. Nothing else of the UA
 * string is kept.
 *
 * - Parsing: ua-parser-js 1.x (MIT) for browser/OS/device, isbot for bots.
 * - Client hints win when present (see client-hints.ts). Chromium browsers that
 *   send hints freeze the OS version in their UA string (Windows "10", macOS
 *   "10.15.7", Android "10"), so with a Sec-CH-UA-Platform hint the OS version
 *   comes from Sec-CH-UA-Platform-Version or is left out.
 * - Input is capped (default 512 characters) before anything reads it, so a
 *   64 KiB or hostile UA costs no more than a long ordinary one.
 * - Results are cached in a bounded two-generation cache. Its keys are a 53-bit
 *   hash of the (capped) UA and hints under a per-process random seed — never
 *   the UA string itself, so the cache holds no raw User-Agent. The cached
 *   results are frozen and shared: do not mutate them.
 */

import { randomBytes } from 'node:crypto';
import { isbot } from 'isbot';
import { UAParser } from 'ua-parser-js';
import { assertKnownKeys, invalidOption } from '../errors.js';
import { type DeviceClass, EVENT_LIMITS, type PrivacyEvent } from '../event.js';
import { type ClientHints, MAX_HINT_LENGTH, parseClientHints } from './client-hints.js';
import { detach, forgetLastMatch } from './url.js';

export type { ClientHints } from './client-hints.js';

export interface UserAgentOptions {
  /** Parsed results kept (0 disables the cache). Default {@link DEFAULT_UA_CACHE_SIZE}. */
  cacheSize?: number;
  /** Characters of a User-Agent read (64–4096). Default {@link DEFAULT_UA_MAX_LENGTH}. */
  maxLength?: number;
}

export const DEFAULT_UA_CACHE_SIZE = 2000;
export const MAX_UA_CACHE_SIZE = 1_000_000;
export const DEFAULT_UA_MAX_LENGTH = 512;
export const MIN_UA_MAX_LENGTH = 64;
export const MAX_UA_MAX_LENGTH = 4096;

const WHERE = 'createUserAgentParser()';
const UA_OPTION_KEYS = ['cacheSize', 'maxLength'] as const;

const BOT_NAME_RE = /([A-Za-z][A-Za-z0-9_-]{0,30}?(?:bot|spider|crawler|fetcher|externalhit))(?:\/([0-9]{1,6}))?/i;
const PRODUCT_RE = /^([A-Za-z][A-Za-z0-9._-]{0,31})\/([0-9]{1,6})/;
const MAJOR_RE = /^[0-9]{1,6}/;
const COARSE_VERSION_RE = /^[0-9A-Za-z]{1,8}(?:\.[0-9]{1,4})?/;
// Printable ASCII only: everything else (controls, U+2028, non-ASCII) is dropped from names.
const UNPRINTABLE_RE = /[^\x20-\x7e]+/g;

/** Systems whose devices, when ua-parser names no device type, are desktops. */
const DESKTOP_OSES: ReadonlySet<string> = new Set([
  'Windows',
  'Mac OS',
  'macOS',
  'Linux',
  'Ubuntu',
  'Debian',
  'Fedora',
  'Mint',
  'Arch',
  'CentOS',
  'Gentoo',
  'Chromium OS',
  'FreeBSD',
  'OpenBSD',
  'NetBSD',
  'Solaris',
]);

/** The OS versions Chromium's reduced UA string always reports, whatever the real one. */
const FROZEN_OS_VERSION: ReadonlyMap<string, string> = new Map([
  ['Windows', '10'],
  ['Mac OS', '10.15'],
  ['Android', '10'],
]);

/** A name safe for an event: printable ASCII, trimmed, ≤ 64 characters, detached from its source. */
function clean(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  let s = v.length > 256 ? v.slice(0, 256) : v;
  s = s.replace(UNPRINTABLE_RE, ' ').trim();
  if (s.length > EVENT_LIMITS.agentField) s = s.slice(0, EVENT_LIMITS.agentField).trim();
  return s === '' ? undefined : detach(s);
}

function major(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = MAJOR_RE.exec(v);
  return m ? String(Number(m[0])) : undefined;
}

function coarse(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = COARSE_VERSION_RE.exec(v);
  return m ? m[0] : undefined;
}

function deviceOf(type: string | undefined, os: string | undefined, browser: string | undefined): DeviceClass {
  if (type === 'mobile') return 'mobile';
  if (type === 'tablet') return 'tablet';
  if (type !== undefined) return 'other'; // smarttv, console, wearable, embedded, xr
  if (os !== undefined) return DESKTOP_OSES.has(os) ? 'desktop' : 'other';
  return browser !== undefined ? 'desktop' : 'other';
}

type Agent = PrivacyEvent['agent'];

const EMPTY_AGENT: Agent = Object.freeze({ device: 'other', bot: false });

/** Parses one capped UA string with its hints. Never throws. */
function parse(ua: string, hints: ClientHints | undefined): Agent {
  if (ua === '' && hints === undefined) return EMPTY_AGENT;
  let browser: string | undefined;
  let browserVersion: string | undefined;
  let os: string | undefined;
  let osVersion: string | undefined;
  let type: string | undefined;
  let bot = false;
  try {
    const parser = new UAParser(ua);
    const b = parser.getBrowser();
    const o = parser.getOS();
    browser = clean(b.name);
    browserVersion = major(b.major ?? b.version);
    os = clean(o.name);
    osVersion = coarse(o.version);
    type = parser.getDevice().type;
  } catch {
    // ua-parser-js never threw in our tests; an unknown agent is the answer if it ever does.
  }
  try {
    bot = ua !== '' && isbot(ua);
  } catch {
    bot = false;
  }
  const h = parseClientHints(hints);
  if (h !== undefined && !bot) {
    if (h.browser !== undefined) {
      browser = clean(h.browser);
      browserVersion = h.browserVersion;
    }
    if (h.os !== undefined) {
      os = clean(h.os);
      osVersion = h.osVersion;
    } else if (h.browser !== undefined && os !== undefined && FROZEN_OS_VERSION.get(os) === osVersion) {
      osVersion = undefined; // a reduced UA's frozen value says nothing
    }
    if (h.mobile === true && type !== 'tablet') type = 'mobile';
  }
  let device = deviceOf(type, os, browser);
  if (bot) {
    device = 'bot';
    const named = BOT_NAME_RE.exec(ua) ?? PRODUCT_RE.exec(ua);
    if (named) {
      browser = clean(named[1]);
      browserVersion = major(named[2]);
    }
  }
  const agent: Agent = { device, bot };
  if (browser !== undefined) agent.browser = browser;
  if (browserVersion !== undefined) agent.browserVersion = browserVersion;
  if (os !== undefined) agent.os = os;
  if (osVersion !== undefined) agent.osVersion = osVersion;
  return Object.freeze(agent);
}

function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(WHERE, field, `an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

function hint(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_HINT_LENGTH ? v : undefined;
}

/**
 * Creates the User-Agent parser. Options are validated once; the parser never
 * throws and returns frozen, shared results.
 *
 * @example
 * const parseAgent = createUserAgentParser();
 * parseAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
 *            { secChUa: '"Chromium";v="131", "Google Chrome";v="131", "Not_A Brand";v="24"',
 *              secChUaPlatform: '"Windows"', secChUaMobile: '?0' });
 * // { device: 'desktop', bot: false, browser: 'Chrome', browserVersion: '131', os: 'Windows' }
 * parseAgent('curl/8.5.0'); // { device: 'bot', bot: true, browser: 'curl', browserVersion: '8' }
 */
export function createUserAgentParser(
  options: UserAgentOptions = {},
): (ua: string | undefined, hints?: ClientHints) => PrivacyEvent['agent'] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(WHERE, 'options', 'an object such as { cacheSize: 2000 }');
  }
  assertKnownKeys(options, UA_OPTION_KEYS, WHERE);
  const cacheSize =
    options.cacheSize === undefined
      ? DEFAULT_UA_CACHE_SIZE
      : checkInteger(options.cacheSize, 'cacheSize', 0, MAX_UA_CACHE_SIZE);
  const maxLength =
    options.maxLength === undefined
      ? DEFAULT_UA_MAX_LENGTH
      : checkInteger(options.maxLength, 'maxLength', MIN_UA_MAX_LENGTH, MAX_UA_MAX_LENGTH);
  const generation = Math.ceil(cacheSize / 2);
  const seed = randomBytes(8);
  const seed1 = seed.readUInt32LE(0);
  const seed2 = seed.readUInt32LE(4);
  let young = new Map<number, Agent>();
  let old = new Map<number, Agent>();
  // Hash state of the key being computed (two independent 32-bit lanes).
  let h1 = 0;
  let h2 = 0;
  const mix = (s: string | undefined, tag: number): void => {
    h1 = Math.imul(h1 ^ tag, 0x01000193);
    h2 = Math.imul(h2 ^ tag, 0x5bd1e995);
    if (s === undefined) return;
    // Two UTF-16 units a step; the length goes in last so 'a' and 'a\0' differ.
    const n = s.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const c = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul((h2 ^ c) + (h2 >>> 15), 0x5bd1e995);
    }
    if (i < n) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul((h2 ^ c) + (h2 >>> 15), 0x5bd1e995);
    }
    h1 = Math.imul(h1 ^ n, 0x01000193);
    h2 = Math.imul(h2 ^ n, 0x5bd1e995);
  };
  const fmix = (h: number): number => {
    let x = h ^ (h >>> 16);
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };

  return function parseAgent(ua: string | undefined, hints?: ClientHints): PrivacyEvent['agent'] {
    let s = typeof ua === 'string' ? ua : '';
    if (s.length > maxLength) s = s.slice(0, maxLength);
    let h: ClientHints | undefined;
    if (typeof hints === 'object' && hints !== null) {
      const secChUa = hint(hints.secChUa);
      const secChUaPlatform = hint(hints.secChUaPlatform);
      const secChUaMobile = hint(hints.secChUaMobile);
      const secChUaPlatformVersion = hint(hints.secChUaPlatformVersion);
      if (secChUa || secChUaPlatform || secChUaMobile || secChUaPlatformVersion) {
        // Usable as given (the common case): no copy. Only the four hint fields are read.
        h =
          secChUa === hints.secChUa &&
          secChUaPlatform === hints.secChUaPlatform &&
          secChUaMobile === hints.secChUaMobile &&
          secChUaPlatformVersion === hints.secChUaPlatformVersion
            ? hints
            : { secChUa, secChUaPlatform, secChUaMobile, secChUaPlatformVersion };
      }
    }
    if (generation === 0) {
      const agent = parse(s, h);
      forgetLastMatch();
      return agent;
    }
    h1 = seed1;
    h2 = seed2;
    mix(s, 1);
    if (h !== undefined) {
      mix(h.secChUa, 2);
      mix(h.secChUaPlatform, 3);
      mix(h.secChUaMobile, 4);
      mix(h.secChUaPlatformVersion, 5);
    }
    const key = fmix(h1) * 2097152 + (fmix(h2) >>> 11);
    h1 = 0;
    h2 = 0;
    let agent = young.get(key);
    if (agent !== undefined) return agent;
    agent = old.get(key);
    if (agent === undefined) {
      agent = parse(s, h);
      forgetLastMatch(); // the regexes of the parse must not keep the UA alive
    }
    if (young.size >= generation) {
      old = young;
      young = new Map();
    }
    young.set(key, agent);
    return agent;
  };
}
