/** Event fixtures and fast-check arbitraries shared by the access-log, collector and OTLP tests. */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { PrivacyEvent } from '../../../src/event.js';

/** A valid, fully populated event; `overrides` replace top-level sections. */
export function makeEvent(overrides: Partial<PrivacyEvent> = {}): PrivacyEvent {
  return {
    id: randomUUID(),
    time: '2026-11-24T15:34:44.123Z',
    site: 'oblachko',
    kind: 'pageview',
    request: { method: 'GET', path: '/news/2026', query: 'utm_source=newsletter' },
    response: { status: 200, bytes: 5120, durationMs: 3.25 },
    client: { address: '203.0.113.0', prefixLength: 24, isp: 'Example Telecom', asn: 64500, domain: 'example.net' },
    agent: { browser: 'Firefox', browserVersion: '120', os: 'Windows', osVersion: '10', device: 'desktop', bot: false },
    referrer: { host: 'search.example', type: 'search' },
    consent: { analytics: 'unset', source: 'default', policyVersion: '2026-01' },
    ...overrides,
  };
}

/** Every kind of string a hostile or broken client could smuggle in: full Unicode, lone surrogates included. */
export const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      '\r',
      '\n',
      '\u2028',
      '\u2029',
      '\u0085',
      '\u001b',
      '\u0000',
      '"',
      '\\',
      ' ',
      'a',
      '\ud800',
      '\u202e',
      '\t',
      '\u007f',
    ),
    maxLength: 20,
  }),
);

/** An event-shaped object whose every string field may hold anything (it need not pass validation). */
export const anyEvent: fc.Arbitrary<PrivacyEvent> = fc
  .record({
    site: anyText,
    method: anyText,
    path: anyText,
    query: fc.option(anyText, { nil: undefined }),
    route: fc.option(anyText, { nil: undefined }),
    status: fc.integer({ min: 0, max: 999 }),
    bytes: fc.option(fc.nat(), { nil: undefined }),
    address: anyText,
    isp: fc.option(anyText, { nil: undefined }),
    domain: fc.option(anyText, { nil: undefined }),
    browser: fc.option(anyText, { nil: undefined }),
    browserVersion: fc.option(anyText, { nil: undefined }),
    os: fc.option(anyText, { nil: undefined }),
    bot: fc.boolean(),
    referrer: fc.option(fc.record({ host: anyText, path: fc.option(anyText, { nil: undefined }) }), { nil: undefined }),
    file: fc.option(anyText, { nil: undefined }),
    policyVersion: fc.option(anyText, { nil: undefined }),
  })
  .map(
    (r): PrivacyEvent =>
      makeEvent({
        site: r.site,
        request: { method: r.method, path: r.path, query: r.query, route: r.route },
        response: { status: r.status, bytes: r.bytes, durationMs: 1 },
        client: { address: r.address, prefixLength: 24, isp: r.isp, domain: r.domain },
        agent: { browser: r.browser, browserVersion: r.browserVersion, os: r.os, device: 'desktop', bot: r.bot },
        referrer: r.referrer ? { ...r.referrer, type: 'external' } : undefined,
        download: r.file === undefined ? undefined : { file: r.file, complete: true },
        consent: { analytics: 'unset', source: 'default', policyVersion: r.policyVersion },
      }),
  );

/**
 * What must never reach a text log line: C0 and C1 controls (NEL included), DEL,
 * the Unicode line/paragraph separators, bidi overrides, the BOM, lone surrogates.
 */
export const FORBIDDEN_IN_LOG =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for exactly these
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|\p{Surrogate}/u;
