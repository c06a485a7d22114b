import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toOtelAttributes, validateEvent } from '../../../src/event.js';
import { sampleEvent } from '../../helpers/sample-event.js';

describe('validateEvent', () => {
  it('accepts a complete event and a minimal one', () => {
    expect(validateEvent(sampleEvent())).toBeUndefined();
    const { referrer: _r, download: _d, session: _s, ...minimal } = sampleEvent();
    expect(validateEvent({ ...minimal, consent: { analytics: 'unset', source: 'default' } })).toBeUndefined();
  });

  it.each([
    ['id', { id: 'not-a-uuid' }, 'id'],
    ['time without ms', { time: '2026-11-24T09:15:02Z' }, 'time'],
    ['kind', { kind: 'visit' }, 'kind'],
    ['CR in path', { request: { method: 'GET', path: '/a\r\nb' } }, 'request.path'],
    ['U+2028 in site', { site: 'a\u2028b' }, 'site'],
    ['status', { response: { status: 1000, durationMs: 1 } }, 'response.status'],
    ['negative duration', { response: { status: 200, durationMs: -1 } }, 'response.durationMs'],
    ['full-length prefix', { client: { address: '203.0.113.7', prefixLength: 128 } }, 'client.prefixLength'],
    ['device', { agent: { device: 'phone', bot: false } }, 'agent.device'],
    ['session without consent', { consent: { analytics: 'denied', source: 'choice' } }, 'session'],
  ] as const)('rejects a bad %s, naming the field', (_name, patch, field) => {
    const reason = validateEvent({ ...sampleEvent(), ...patch });
    expect(reason).toBeDefined();
    expect(reason?.startsWith(field)).toBe(true);
  });

  it('accepts as id exactly the lowercase 8-4-4-4-12 hex UUIDs (property, against a regex)', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const valid = sampleEvent().id;
    // Near misses: one character of a valid id replaced by any character (hyphen, upper case, non-ASCII…).
    const nearMiss = fc
      .tuple(
        fc.nat(35),
        fc.oneof(
          fc.constantFrom('-', 'A', 'F', 'g', '/', ':', '`', '\u0130', '\u0660'),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        ),
      )
      .map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1));
    const hexy = fc.stringMatching(/^[0-9a-fA-F-]{30,40}$/);
    fc.assert(
      fc.property(fc.oneof(nearMiss, hexy, fc.uuid(), fc.string()), (id) => {
        const reason = validateEvent({ ...sampleEvent(), id });
        expect(reason === undefined).toBe(uuid.test(id));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts as time exactly the valid ISO 8601 UTC instants with milliseconds (property, against a regex and Date)', () => {
    const shape = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
    const valid = (t: string) => shape.test(t) && new Date(t).toISOString() === t;
    const instant = fc
      .date({
        min: new Date('0000-01-01T00:00:00.000Z'),
        max: new Date('9999-12-31T23:59:59.999Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
    // One character of a valid time replaced (a digit past a field's range, a separator, non-ASCII digits…).
    const nearMiss = fc
      .tuple(
        instant,
        fc.nat(23),
        fc.constantFrom('0', '1', '2', '3', '4', '5', '9', '-', ':', 'T', 'Z', '.', ' ', '\u0661', 'a'),
      )
      .map(([t, i, c]) => t.slice(0, i) + c + t.slice(i + 1));
    // Every field drawn from two digits: impossible days (02-30, 04-31) and out-of-range fields.
    // Two digits, mostly at the fields' edges.
    const dd = fc.oneof(
      fc.constantFrom(
        '00',
        '01',
        '09',
        '10',
        '12',
        '13',
        '19',
        '20',
        '23',
        '24',
        '28',
        '29',
        '30',
        '31',
        '32',
        '59',
        '60',
      ),
      fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0')),
    );
    const fields = fc
      .tuple(
        fc.constantFrom(0, 1, 99, 100, 1900, 2000, 2024, 2026, 2100, 9999),
        dd,
        dd,
        dd,
        dd,
        dd,
        fc.integer({ min: 0, max: 999 }),
      )
      .map(
        ([y, mo, d, h, mi, s, ms]) =>
          `${String(y).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}Z`,
      );
    // A valid instant with one of its two-digit fields (month, day, hour, minute, second) set to an edge value.
    const oneField = fc
      .tuple(instant, fc.constantFrom(5, 8, 11, 14, 17), dd)
      .map(([t, at, v]) => t.slice(0, at) + v + t.slice(at + 2));
    fc.assert(
      fc.property(fc.oneof(instant, nearMiss, fields, oneField, fc.string()), (time) => {
        const reason = validateEvent({ ...sampleEvent(), time });
        expect(reason === undefined).toBe(valid(time));
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const reason = validateEvent(value);
        expect(typeof reason).toBe('string');
      }),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer(), (path, site, status) => {
        const r = validateEvent({
          ...sampleEvent(),
          site,
          request: { method: 'GET', path },
          response: { status, durationMs: 1 },
        });
        expect(r === undefined || typeof r === 'string').toBe(true);
      }),
    );
  });
});

describe('toOtelAttributes', () => {
  it('maps fields to semantic-convention names and never emits the raw User-Agent', () => {
    const attrs = toOtelAttributes(sampleEvent());
    expect(attrs).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/documents/menu.pdf',
      'url.query': 'utm_source=vk',
      'http.route': '/documents/:file',
      'http.response.status_code': 200,
      'client.address': '2.16.20.0',
      'user_agent.name': 'Chrome',
      'user_agent.version': '142',
      'user_agent.os.name': 'Android',
      'http.request.header.referer': 'yandex.ru',
      'client.as.number': 12389,
      'session.id': 'AAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(attrs['http.server.request.duration']).toBeCloseTo(0.0032);
    expect(Object.keys(attrs)).not.toContain('user_agent.original');
    for (const v of Object.values(attrs)) expect(['string', 'number', 'boolean']).toContain(typeof v);
  });

  it('omits what the event does not have', () => {
    const { referrer: _r, download: _d, session: _s, ...rest } = sampleEvent();
    const attrs = toOtelAttributes({ ...rest, consent: { analytics: 'unset', source: 'default' } });
    expect(attrs['session.id']).toBeUndefined();
    expect(attrs['http.request.header.referer']).toBeUndefined();
    expect(attrs['privacy_log.download.file']).toBeUndefined();
  });
});

describe('validateEvent time checks', () => {
  it.each([
    ['2026-02-29T00:00:00.000Z', false],
    ['2028-02-29T00:00:00.000Z', true],
    ['2100-02-29T00:00:00.000Z', false],
    ['2000-02-29T00:00:00.000Z', true],
    ['2026-04-31T00:00:00.000Z', false],
    ['2026-12-31T23:59:59.999Z', true],
    ['2026-13-01T00:00:00.000Z', false],
    ['2026-11-24T24:00:00.000Z', false],
  ])('%s valid: %s', (time, valid) => {
    expect(validateEvent({ ...sampleEvent(), time }) === undefined).toBe(valid);
  });

  it('agrees with Date for every day of a leap and a common year', () => {
    for (const year of [2026, 2028]) {
      for (let m = 1; m <= 12; m++) {
        for (let d = 1; d <= 31; d++) {
          const time = `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T12:00:00.000Z`;
          const real = new Date(time).getUTCDate() === d;
          expect(validateEvent({ ...sampleEvent(), time }) === undefined).toBe(real);
        }
      }
    }
  });
});
