/**
 * Realistic request facts, shared by the HTTP load and the hot-path
 * micro-benchmark: browsers with client hints, consent cookies (granted with a
 * session, denied, none with Sec-GPC), X-Forwarded-For from a trusted loopback
 * proxy, external and internal referrers, a named Host, and a query string
 * with allow-listed and other parameters.
 *
 * The addresses are documentation ranges (RFC 5737 / RFC 3849).
 */
import { encodeConsentCookie } from '../../src/consent/cookie-codec.js';

export interface BenchRequest {
  method: 'GET';
  path: string;
  headers: Record<string, string>;
}

const DAY_MS = 86_400_000;
/** A choice made ten days ago, for policy version '1' (the default). */
const choiceDay = Math.floor(Date.now() / DAY_MS) - 10;
const GRANTED = encodeConsentCookie({ policyVersion: '1', analytics: true, day: choiceDay });
const DENIED = encodeConsentCookie({ policyVersion: '1', analytics: false, day: choiceDay });
/** 22 base64url characters, the shape of `consent.newSessionId()`. */
const SESSION = 'q3VhZ8m1Rk2xYp0TfW7cAg';

/** A named site (requests still go to 127.0.0.1): the Host header of every request. */
export const SITE_HOST = 'kindergarten.example';

const ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IOS_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const CHROME_ANDROID_UA =
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

/** The mix autocannon cycles through on each connection, and the hot path iterates over. */
export const REQUEST_MIX: readonly BenchRequest[] = [
  {
    method: 'GET',
    path: '/',
    headers: {
      host: SITE_HOST,
      accept: ACCEPT,
      'accept-language': 'ru-RU,ru;q=0.9,en;q=0.8',
      'user-agent': CHROME_UA,
      'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
      'sec-ch-ua-mobile': '?0',
      'sec-ch-ua-platform': '"Windows"',
      referer: 'https://www.google.com/',
      cookie: `privacy_consent=${GRANTED}; privacy_session=${SESSION}; theme=light`,
      'x-forwarded-for': '203.0.113.7',
    },
  },
  {
    method: 'GET',
    path: '/news/2026/open-day',
    headers: {
      host: SITE_HOST,
      accept: ACCEPT,
      'accept-language': 'ru,en-US;q=0.7,en;q=0.3',
      'user-agent': FIREFOX_UA,
      referer: `https://${SITE_HOST}/news?page=2`,
      cookie: `privacy_consent=${DENIED}`,
      'x-forwarded-for': '198.51.100.23',
    },
  },
  {
    method: 'GET',
    path: '/groups/sunflowers?utm_source=newsletter&utm_medium=email&fbclid=IwAR0secret',
    headers: {
      host: SITE_HOST,
      accept: ACCEPT,
      'accept-language': 'ru-RU,ru;q=0.9',
      'user-agent': SAFARI_IOS_UA,
      'sec-gpc': '1',
      referer: 'https://vk.com/',
      'x-forwarded-for': '2001:db8:85a3::8a2e:370:7334',
    },
  },
  {
    method: 'GET',
    path: '/documents/menu',
    headers: {
      host: SITE_HOST,
      accept: ACCEPT,
      'accept-language': 'ru-RU,ru;q=0.9',
      'user-agent': CHROME_ANDROID_UA,
      'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
      'sec-ch-ua-mobile': '?1',
      'sec-ch-ua-platform': '"Android"',
      'sec-ch-ua-platform-version': '"14.0.0"',
      'x-forwarded-for': '192.0.2.140',
    },
  },
];

/** The first entry: Chrome with client hints, a consent cookie, X-Forwarded-For. */
export const CHROME_REQUEST: BenchRequest = REQUEST_MIX[0] as BenchRequest;
