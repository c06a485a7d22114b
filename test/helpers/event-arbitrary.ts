/**
 * fast-check: valid events with every optional field present or not,
 * including internal referrers and non-pageview paths — for round trips
 * through a store (what is written is what is read back).
 */
import fc from 'fast-check';
import { type PrivacyEvent, validateEvent } from '../../src/event.js';
import { uuidv7 } from '../conformance/dataset.js';

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const text = fc.string({ minLength: 1, maxLength: 12 });

/** Events with every optional field present or not, including internal referrers and non-pageview paths. */
export const eventArb: fc.Arbitrary<PrivacyEvent> = fc
  .record({
    ms: fc.integer({ min: Date.parse('2026-01-01T00:00:00.000Z'), max: Date.parse('2026-12-31T00:00:00.000Z') }),
    site: text,
    kind: fc.constantFrom('pageview', 'download', 'api', 'asset', 'other'),
    method: fc.constantFrom('GET', 'POST', 'HEAD'),
    path: text.map((s) => `/${s}`),
    query: opt(text),
    route: opt(text),
    status: fc.integer({ min: 100, max: 599 }),
    bytes: opt(fc.integer({ min: 0, max: 1e9 })),
    durationMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
    address: fc.constantFrom('203.0.113.0', '2001:db8:abcd::', 'unknown'),
    prefixLength: fc.integer({ min: 0, max: 128 }),
    isp: opt(text),
    asn: opt(fc.integer({ min: 1, max: 4e9 })),
    domain: opt(text),
    browser: opt(text),
    browserVersion: opt(text),
    os: opt(text),
    osVersion: opt(text),
    device: fc.constantFrom('desktop', 'mobile', 'tablet', 'bot', 'other'),
    bot: fc.boolean(),
    referrer: opt(
      fc.record({ host: text, path: opt(text), type: fc.constantFrom('external', 'internal', 'search', 'social') }),
    ),
    download: opt(fc.record({ file: text, contentType: opt(text), complete: fc.boolean() })),
    analytics: fc.constantFrom('granted', 'denied', 'unset'),
    source: fc.constantFrom('choice', 'default', 'gpc'),
    policyVersion: opt(text),
    session: opt(text),
  })
  .map((r) => {
    const e = {
      id: uuidv7(r.ms),
      time: new Date(r.ms).toISOString(),
      site: r.site,
      kind: r.kind,
      request: { method: r.method, path: r.path, query: r.query, route: r.route },
      response: { status: r.status, bytes: r.bytes, durationMs: r.durationMs },
      client: { address: r.address, prefixLength: r.prefixLength, isp: r.isp, asn: r.asn, domain: r.domain },
      agent: {
        browser: r.browser,
        browserVersion: r.browserVersion,
        os: r.os,
        osVersion: r.osVersion,
        device: r.device,
        bot: r.bot,
      },
      referrer: r.referrer,
      download: r.download,
      consent: { analytics: r.analytics, source: r.source, policyVersion: r.policyVersion },
      session: r.session === undefined ? undefined : { id: r.session },
    };
    // Optional fields are absent, not undefined, in a real event (and in what the store gives back).
    return JSON.parse(JSON.stringify(e)) as PrivacyEvent;
  })
  .filter((e) => validateEvent(e) === undefined);
