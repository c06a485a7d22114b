/**
 * fast-check arbitraries for events of every shape a store must keep exactly:
 * each optional field present or absent, strings of any code points, big byte
 * counts, fractional durations, odd times; and a canonical JSON to compare them.
 */
import fc from 'fast-check';
import {
  CONSENT_SOURCES,
  CONSENT_VALUES,
  DEVICE_CLASSES,
  EVENT_KINDS,
  type PrivacyEvent,
  REFERRER_TYPES,
  validateEvent,
} from '../../src/event.js';
import { BASE_DAY, uuidv7 } from '../conformance/dataset.js';

/** JSON with sorted keys, -0 told apart from 0: equal exactly when the values are identical. */
export function canon(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Any code point, lone surrogates included: strings a block must store whatever they are. */
const text = fc.string({ unit: 'binary', maxLength: 12 });
/** Mostly a few repeating values (dictionaries get reused), sometimes anything. */
const pooled = (...values: string[]) => fc.oneof(fc.constantFrom(...values), text);

const BASE = Date.parse(`${BASE_DAY}T00:00:00.000Z`);
export const anyTime = fc.oneof(
  fc
    .integer({ min: Date.parse('0000-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') })
    .map((ts) => new Date(ts).toISOString()),
  // Strings Date.parse reads but toISOString would not give back: stored as they are.
  fc.constantFrom(
    '2026-02-29T12:00:00.000Z',
    '2026-03-10T10:00:00.000z',
    '2026-03-10T10:00:00Z',
    '2026-03-10T24:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '1970-01-01T00:00:00.000Z',
  ),
);
/** Times within a day: the block stores them as 32-bit offsets. */
export const nearTime = fc.integer({ min: 0, max: 86_400_000 }).map((d) => new Date(BASE + d).toISOString());

export function eventArbitrary(time: fc.Arbitrary<string>): fc.Arbitrary<PrivacyEvent> {
  const big = fc.oneof(fc.nat(), fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }));
  // Numbers no valid event has (validateEvent refuses them) still come back as they went in.
  const odd = fc.constantFrom(-0, 0.5, -1, 2 ** 53, 2 ** 64, 1e300, Number.MAX_VALUE, Number.MIN_VALUE);
  const count = (max: number) =>
    fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max }) }, { weight: 1, arbitrary: odd });
  const duration = fc.oneof(
    fc.double({ min: 0, max: 86_400_000, noNaN: true }),
    fc.integer({ min: 0, max: 86_400_000_000 }).map((us) => us / 1000),
    fc.constantFrom(0, -0, 0.1, 3.5, 1e-9, 86_400_000),
  );
  return fc.record(
    {
      id: fc.uuid(),
      time,
      site: pooled('oblachko', 'other.example'),
      kind: fc.constantFrom(...EVENT_KINDS),
      request: fc.record(
        { method: pooled('GET', 'POST'), path: pooled('/', '/news', '/группы'), query: text, route: text },
        { requiredKeys: ['method', 'path'] },
      ),
      response: fc.record(
        { status: count(999), bytes: fc.oneof(big, odd), durationMs: duration },
        { requiredKeys: ['status', 'durationMs'] },
      ),
      client: fc.record(
        {
          address: pooled('203.0.113.0', '2001:db8:abcd::', 'unknown'),
          prefixLength: count(128),
          isp: pooled('Rostelecom', 'MTS'),
          asn: count(4_294_967_295),
          domain: pooled('rt.ru'),
        },
        { requiredKeys: ['address', 'prefixLength'] },
      ),
      agent: fc.record(
        {
          browser: pooled('Chrome', 'Firefox'),
          browserVersion: pooled('142'),
          os: pooled('Android', 'Windows'),
          osVersion: pooled('10'),
          device: fc.constantFrom(...DEVICE_CLASSES),
          bot: fc.boolean(),
        },
        { requiredKeys: ['device', 'bot'] },
      ),
      referrer: fc.record(
        { host: pooled('yandex.ru', 'vk.com'), path: text, type: fc.constantFrom(...REFERRER_TYPES) },
        { requiredKeys: ['host', 'type'] },
      ),
      download: fc.record(
        { file: pooled('menu.pdf'), contentType: pooled('application/pdf'), complete: fc.boolean() },
        { requiredKeys: ['file'] },
      ),
      consent: fc.record(
        {
          analytics: fc.constantFrom(...CONSENT_VALUES),
          source: fc.constantFrom(...CONSENT_SOURCES),
          policyVersion: pooled('1', '2026-11'),
        },
        { requiredKeys: ['analytics', 'source'] },
      ),
      session: fc.record({ id: pooled('s1', 's2', 'AAAAAAAAAAAAAAAAAAAAAA') }),
    },
    { requiredKeys: ['id', 'time', 'site', 'kind', 'request', 'response', 'client', 'agent', 'consent'] },
  ) as fc.Arbitrary<PrivacyEvent>;
}

export const blockEvents = fc.oneof(
  fc.array(eventArbitrary(anyTime), { minLength: 1, maxLength: 40 }),
  fc.array(eventArbitrary(nearTime), { minLength: 1, maxLength: 40 }),
);

const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const shortText = fc.string({ minLength: 1, maxLength: 12 });

/** Events with every optional field present or not, including internal referrers and non-pageview paths. */
export const eventArb: fc.Arbitrary<PrivacyEvent> = fc
  .record({
    ms: fc.integer({ min: Date.parse('2026-01-01T00:00:00.000Z'), max: Date.parse('2026-12-31T00:00:00.000Z') }),
    site: shortText,
    kind: fc.constantFrom('pageview', 'download', 'api', 'asset', 'other'),
    method: fc.constantFrom('GET', 'POST', 'HEAD'),
    path: shortText.map((s) => `/${s}`),
    query: optional(shortText),
    route: optional(shortText),
    status: fc.integer({ min: 100, max: 599 }),
    bytes: optional(fc.integer({ min: 0, max: 1e9 })),
    durationMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
    address: fc.constantFrom('203.0.113.0', '2001:db8:abcd::', 'unknown'),
    prefixLength: fc.integer({ min: 0, max: 128 }),
    isp: optional(shortText),
    asn: optional(fc.integer({ min: 1, max: 4e9 })),
    domain: optional(shortText),
    browser: optional(shortText),
    browserVersion: optional(shortText),
    os: optional(shortText),
    osVersion: optional(shortText),
    device: fc.constantFrom('desktop', 'mobile', 'tablet', 'bot', 'other'),
    bot: fc.boolean(),
    referrer: optional(
      fc.record({
        host: shortText,
        path: optional(shortText),
        type: fc.constantFrom('external', 'internal', 'search', 'social'),
      }),
    ),
    download: optional(fc.record({ file: shortText, contentType: optional(shortText), complete: fc.boolean() })),
    analytics: fc.constantFrom('granted', 'denied', 'unset'),
    source: fc.constantFrom('choice', 'default', 'gpc'),
    policyVersion: optional(shortText),
    session: optional(shortText),
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
