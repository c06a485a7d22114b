import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCapture, type RequestFacts, type ResponseFacts, siteFromHost } from '../../../src/capture/capture.js';
import { compileTrustProxy } from '../../../src/capture/client-ip.js';
import { createVisitorHasher } from '../../../src/capture/visitor-hash.js';
import { createConsent } from '../../../src/consent/consent.js';
import { encodeConsentCookie } from '../../../src/consent/cookie-codec.js';
import { validateEvent } from '../../../src/event.js';
import { DEFAULT_KINDS } from '../../../src/options.js';

const hasher = createVisitorHasher();
const capture = createCapture({
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
const consent = createConsent();
/** A session id of the shape consent.newSessionId() makes. */
const SESSION = 'q3VhZ8m1Rk2xYp0TfW7cAg';
const state = consent.resolve(undefined, undefined, undefined);

const response: ResponseFacts = { status: 200, contentType: 'text/html', finished: true, durationMs: 1.5 };

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PROPFIND', 'get', ''),
  url: fc.oneof(
    fc.webPath(),
    fc.string({ maxLength: 300 }).map((s) => `/${s}`),
    fc.webUrl().map((u) => new URL(u).pathname + new URL(u).search),
  ),
  ua: fc.option(fc.string({ maxLength: 600 }), { nil: undefined }),
  referer: fc.option(fc.oneof(fc.webUrl(), fc.string()), { nil: undefined }),
  host: fc.option(fc.oneof(fc.domain(), fc.string()), { nil: undefined }),
  xff: fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), { nil: undefined }),
  socket: fc.oneof(fc.constant('127.0.0.1'), fc.ipV4(), fc.ipV6(), fc.constant(undefined)),
});

function toFacts(r: {
  method: string;
  url: string;
  ua: string | undefined;
  referer: string | undefined;
  host: string | undefined;
  xff: string | undefined;
  socket: string | undefined;
}): RequestFacts {
  return {
    method: r.method,
    url: r.url,
    headers: { 'user-agent': r.ua, referer: r.referer, host: r.host, 'x-forwarded-for': r.xff },
    socketAddress: r.socket,
    startMs: Date.UTC(2026, 10, 24, 12),
  };
}

describe('capture', () => {
  it('yields the same event for the same request, id and time aside, and never throws', () => {
    fc.assert(
      fc.property(requestArb, (r) => {
        const a = capture.record(toFacts(r), response, state);
        const b = capture.record(toFacts(r), response, state);
        expect(a === undefined).toBe(b === undefined);
        if (!a || !b) return;
        expect(validateEvent(a.event)).toBeUndefined();
        const { id: _ia, time: _ta, ...restA } = a.event;
        const { id: _ib, time: _tb, ...restB } = b.event;
        expect(restA).toEqual(restB);
        expect(a.visitor).toBe(b.visitor);
        expect(a.event.id).not.toBe(b.event.id);
      }),
      { numRuns: 500 },
    );
  });

  it('counts a visitor only for human page views and downloads', () => {
    const base = toFacts({
      method: 'GET',
      url: '/',
      ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0',
      referer: undefined,
      host: 'oblachko.test',
      xff: undefined,
      socket: '203.0.113.9',
    });
    expect(capture.record(base, response, state)?.visitor).toBeTypeOf('number');
    expect(
      capture.record({ ...base, url: '/api/x' }, { ...response, contentType: 'application/json' }, state)?.visitor,
    ).toBeUndefined();
    const bot = {
      ...base,
      headers: {
        ...base.headers,
        'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      },
    };
    expect(capture.record(bot, response, state)?.visitor).toBeUndefined();
  });

  it('keeps one key order, optional parts present only when they apply', () => {
    const granted = consent.resolve(
      `privacy_consent=${encodeConsentCookie({ policyVersion: '1', analytics: true, day: 19_990 })}; privacy_session=${SESSION}`,
      undefined,
      undefined,
      Date.UTC(2024, 9, 1),
    );
    expect(granted.sessionId).toBe(SESSION);
    const base = toFacts({
      method: 'GET',
      url: '/',
      ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0',
      referer: 'https://www.google.com/',
      host: 'oblachko.test',
      xff: undefined,
      socket: '203.0.113.9',
    });
    const head = ['id', 'time', 'site', 'kind', 'request', 'response', 'client', 'agent', 'consent'];
    const keys = (f: RequestFacts, res: ResponseFacts, c = state) => {
      const e = capture.record(f, res, c)?.event;
      expect(e && validateEvent(e)).toBeUndefined();
      return {
        event: Object.keys(e ?? {}),
        response: Object.keys(e?.response ?? {}),
        client: Object.keys(e?.client ?? {}),
      };
    };
    const noReferrer = { ...base, headers: { ...base.headers, referer: undefined } };
    const sized = { ...response, contentLength: 78 };
    expect(keys(base, response)).toEqual({
      event: [...head, 'referrer'],
      response: ['status', 'durationMs'],
      client: ['address', 'prefixLength'],
    });
    expect(keys(base, sized, granted).event).toEqual([...head, 'referrer', 'session']);
    expect(keys(base, sized, granted).response).toEqual(['status', 'durationMs', 'bytes']);
    expect(keys(noReferrer, response).event).toEqual(head);
    expect(keys(noReferrer, response, granted).event).toEqual([...head, 'session']);
    // Bytes only for a response sent in full.
    expect(keys(base, { ...sized, finished: false }).response).toEqual(['status', 'durationMs']);
    const pdf = { ...base, url: '/files/menu.pdf' };
    const pdfResponse = { ...sized, contentType: 'application/pdf' };
    expect(keys(pdf, pdfResponse, granted).event).toEqual([...head, 'referrer', 'download', 'session']);
    expect(keys({ ...pdf, headers: { ...pdf.headers, referer: undefined } }, pdfResponse).event).toEqual([
      ...head,
      'download',
    ]);
  });
});

describe('siteFromHost', () => {
  it.each([
    ['Oblachko.Example.RU:8080', 'oblachko.example.ru'],
    ['[::1]:3000', 'unknown'],
    ['evil\r\nhost', 'unknown'],
    [undefined, 'unknown'],
    ['a'.repeat(400), 'unknown'],
  ])('%j → %s', (host, site) => expect(siteFromHost(host)).toBe(site));
});
