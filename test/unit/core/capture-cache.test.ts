/**
 * The capture step's caches (hashed-cache.ts; URL, referrer, kind and time
 * memos in capture.ts) must never change an event: a warm capture yields what a
 * cold one yields for the same request and response.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCapture, type RequestFacts, type ResponseFacts } from '../../../src/capture/capture.js';
import { compileTrustProxy } from '../../../src/capture/client-ip.js';
import { createHashedCache } from '../../../src/capture/hashed-cache.js';
import { createVisitorHasher } from '../../../src/capture/visitor-hash.js';
import { createConsent } from '../../../src/consent/consent.js';
import { DEFAULT_KINDS } from '../../../src/options.js';

const hasher = createVisitorHasher();
const newCapture = () =>
  createCapture({
    site: undefined,
    trust: compileTrustProxy('loopback'),
    ip: {},
    queryAllowList: undefined,
    downloadExtensions: undefined,
    kinds: new Set(DEFAULT_KINDS),
    ignore: undefined,
    hasher,
    enricher: undefined,
  });
const state = createConsent().resolve(undefined, undefined, undefined);

const URLS = [
  '/',
  '/news/42?utm_source=vk&email=ivan%40mail.ru',
  '/docs/menu.pdf',
  '/docs/menu.pdf?download=1',
  '/api/items',
  '/img/logo.png',
  '/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
  '/.well-known/security.txt',
  'http://example.org/absolute?ref=x',
];
const REFERERS = [
  undefined,
  'https://www.google.com/search?q=x',
  'http://127.0.0.1/news?x=1',
  'garbage',
  'https://vk.com/',
];
const TYPES = [undefined, 'text/html; charset=utf-8', 'application/json', 'application/pdf', 'image/png'];

const exchange = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'OPTIONS'),
  url: fc.constantFrom(...URLS),
  referer: fc.constantFrom(...REFERERS),
  status: fc.constantFrom(200, 204, 206, 304, 404, 500),
  contentType: fc.constantFrom(...TYPES),
  contentDisposition: fc.constantFrom(undefined, 'attachment; filename="a.pdf"', 'inline'),
  contentLength: fc.option(fc.nat(10_000), { nil: undefined }),
  finished: fc.boolean(),
  route: fc.constantFrom(undefined, '/', '/news/:id'),
});
type Exchange = typeof exchange extends fc.Arbitrary<infer T> ? T : never;

function facts(x: Exchange): [RequestFacts, ResponseFacts] {
  return [
    {
      method: x.method,
      url: x.url,
      headers: { host: '127.0.0.1:3000', 'user-agent': 'Mozilla/5.0 Firefox/133.0', referer: x.referer },
      socketAddress: '127.0.0.1',
      startMs: Date.UTC(2026, 10, 24, 12, 0, 0, 7),
    },
    {
      status: x.status,
      contentType: x.contentType,
      contentDisposition: x.contentDisposition,
      contentLength: x.contentLength,
      finished: x.finished,
      durationMs: 1,
      route: x.route,
    },
  ];
}

const withoutId = (e: unknown) => JSON.stringify({ ...(e as object), id: '' });

describe('capture caches', () => {
  it('a warm capture records what a cold one records, whatever responses came before', () => {
    const warm = newCapture();
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 30 }), (list) => {
        for (const x of list) {
          const [req, res] = facts(x);
          const cached = warm.record(req, res, state);
          const cold = newCapture().record(req, res, state);
          expect(cached === undefined).toBe(cold === undefined);
          if (cached && cold) {
            expect(withoutId(cached.event)).toBe(withoutId(cold.event));
            expect(cached.visitor).toBe(cold.visitor);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the event time is the ISO form of the start, to the millisecond', () => {
    const capture = newCapture();
    const [req, res] = facts({
      method: 'GET',
      url: '/',
      referer: undefined,
      status: 200,
      contentType: 'text/html',
      contentDisposition: undefined,
      contentLength: 10,
      finished: true,
      route: undefined,
    });
    const edges = [0, 1, 999, 1000, 1001, Date.UTC(2026, 11, 31, 23, 59, 59, 999), 253_402_300_799_999];
    const check = (ms: number) => {
      const e = capture.record({ ...req, startMs: ms }, res, state);
      expect(e?.event.time).toBe(new Date(ms).toISOString());
    };
    for (const ms of edges) check(ms);
    fc.assert(fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), check), { numRuns: 500 });
  });
});

describe('request part of the event', () => {
  it('is one frozen object per URL, method and route, equal to a fresh one', () => {
    const capture = newCapture();
    const x: Exchange = {
      method: 'GET',
      url: '/news/2024/11/open-day?utm_source=vk&fbclid=x',
      referer: undefined,
      status: 200,
      contentType: 'text/html',
      contentDisposition: undefined,
      contentLength: 10,
      finished: true,
      route: '/news/:id',
    };
    const [req, res] = facts(x);
    const a = capture.record(req, res, state)?.event;
    const b = capture.record(req, res, state)?.event;
    expect(a?.request).toBe(b?.request);
    expect(Object.isFrozen(a?.request)).toBe(true);
    expect(a?.request).toEqual({
      method: 'GET',
      path: '/news/2024/11/open-day',
      query: 'utm_source=vk',
      route: '/news/:id',
    });
    const other = capture.record(req, { ...res, route: undefined }, state)?.event;
    expect(other?.request).toEqual({ method: 'GET', path: '/news/2024/11/open-day', query: 'utm_source=vk' });
    expect('route' in (other?.request ?? {})).toBe(false);
    const post = capture.record({ ...req, method: 'POST' }, res, state)?.event;
    expect(post?.request.method).toBe('POST');
    const odd = capture.record({ ...req, method: 'get\u0000' }, res, state)?.event;
    expect(odd?.request.method).toBe('OTHER');
    expect(a?.time).toBe(b?.time); // one string per millisecond
  });
});

describe('consent part of the event', () => {
  it('is one frozen object per consent value and source, equal to the state', () => {
    const capture = newCapture();
    const consent = createConsent();
    const [req, res] = facts({
      method: 'GET',
      url: '/',
      referer: undefined,
      status: 200,
      contentType: 'text/html',
      contentDisposition: undefined,
      contentLength: 10,
      finished: true,
      route: undefined,
    });
    const states = [
      consent.resolve(undefined, undefined, undefined),
      consent.resolve(undefined, '1', undefined),
      consent.resolve(undefined, undefined, '1'),
    ];
    const parts = states.map((s) => capture.record(req, res, s)?.event.consent);
    states.forEach((s, i) => {
      expect(parts[i]).toEqual({ analytics: s.analytics, source: s.source, policyVersion: s.policyVersion });
      expect(Object.isFrozen(parts[i])).toBe(true);
      expect(capture.record(req, res, s)?.event.consent).toBe(parts[i]);
    });
    expect(new Set(parts).size).toBe(3);
  });
});

describe('createHashedCache', () => {
  it('keys depend on both strings and where they split', () => {
    const c = createHashedCache<number>(10);
    expect(c.key('ab')).toBe(c.key('ab'));
    expect(c.key('ab')).not.toBe(c.key('a', 'b'));
    expect(c.key('a', 'b')).not.toBe(c.key('ab', ''));
    expect(c.key('a')).not.toBe(c.key('a\u0000'));
    expect(Number.isSafeInteger(c.key('x'.repeat(5000)))).toBe(true);
  });

  it('keeps what was set and forgets the oldest beyond two generations', () => {
    const c = createHashedCache<number>(4); // generations of 2
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((s) => c.key(s));
    for (let i = 0; i < 2; i++) c.set(keys[i] as number, i);
    expect(c.get(keys[0] as number)).toBe(0);
    for (let i = 2; i < keys.length; i++) c.set(keys[i] as number, i);
    expect(c.get(keys[0] as number)).toBeUndefined();
    expect(c.get(keys[5] as number)).toBe(5);
  });
});
