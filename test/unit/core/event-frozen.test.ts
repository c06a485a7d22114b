/**
 * validateEvent remembers frozen sub-objects it found valid (the capture step
 * shares one frozen agent, referrer and consent part among many events). The
 * verdicts must be exactly those of a fresh check, whatever is passed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/event.js';

const base = () =>
  ({
    id: '01890a5d-ac96-774b-bcce-b302099a8057',
    time: '2026-11-24T12:00:00.000Z',
    site: 'oblachko',
    kind: 'pageview',
    request: { method: 'GET', path: '/' },
    response: { status: 200, durationMs: 1 },
    client: { address: '203.0.113.0', prefixLength: 24 },
    agent: { device: 'desktop', bot: false },
    consent: { analytics: 'unset', source: 'default' },
  }) as Record<string, unknown>;

/** The same verdict from an unfrozen deep copy, which the memo never sees. */
const fresh = (e: Record<string, unknown>) => validateEvent(JSON.parse(JSON.stringify(e)));

describe('validateEvent with shared frozen parts', () => {
  it('gives the verdicts of a fresh check, for frozen, plain and accessor parts used again and again', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.constant(undefined),
      fc.integer(),
      fc.boolean(),
      fc.constantFrom('desktop', 'bot', 'granted', 'denied', 'choice', 'gpc', 'search', 'internal', 'a\u0000b'),
    );
    const part = (keys: string[]) =>
      fc.record(Object.fromEntries(keys.map((k) => [k, value])), { requiredKeys: [] }).chain((o) =>
        fc.constantFrom('plain', 'frozen', 'accessor').map((mode) => {
          if (mode === 'plain') return o;
          if (mode === 'frozen') return Object.freeze(o);
          const g: Record<string, unknown> = {};
          for (const k of Object.keys(o)) Object.defineProperty(g, k, { get: () => o[k], enumerable: true });
          return Object.freeze(g);
        }),
      );
    const seen: object[] = [];
    fc.assert(
      fc.property(
        part(['browser', 'browserVersion', 'os', 'osVersion', 'device', 'bot']),
        fc.option(part(['host', 'path', 'type']), { nil: undefined }),
        part(['analytics', 'source', 'policyVersion']),
        fc.nat(),
        (agent, referrer, consent, pick) => {
          seen.push(agent, consent);
          const e = base();
          e.agent = agent;
          e.consent = consent;
          if (referrer) e.referrer = referrer;
          const again = base();
          again.agent = seen[pick % seen.length];
          again.consent = seen[(pick * 7) % seen.length];
          for (const x of [e, again, e, again]) expect(validateEvent(x)).toBe(fresh(x));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never remembers a frozen part whose accessor changes its answer', () => {
    let reads = 0;
    const agent = Object.freeze(
      Object.defineProperty({ device: 'desktop', bot: false }, 'browser', {
        get: () => (reads++ === 0 ? 'Chrome' : 'bad\u0000'),
        enumerable: true,
      }),
    );
    const e = { ...base(), agent };
    expect(validateEvent(e)).toBeUndefined();
    expect(validateEvent(e)).toBe('agent.browser: too long or unsafe');
  });

  it('remembers a valid frozen part for its own role only', () => {
    const agent = Object.freeze({ device: 'desktop', bot: false });
    const request = Object.freeze({ method: 'GET', path: '/' });
    expect(validateEvent({ ...base(), agent, request })).toBeUndefined();
    expect(validateEvent({ ...base(), consent: agent })).toMatch(/^consent.analytics/);
    expect(validateEvent({ ...base(), referrer: agent })).toMatch(/^referrer.host/);
    expect(validateEvent({ ...base(), request: agent })).toMatch(/^request.method/);
    expect(validateEvent({ ...base(), agent: request })).toMatch(/^agent.device/);
  });

  it('checks a frozen request part once and gives a fresh check’s verdicts (property)', () => {
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.constant(undefined), fc.integer(), fc.constant('a\u0000b'));
    const seen: object[] = [];
    fc.assert(
      fc.property(
        fc.record({ method: value, path: value, query: value, route: value }, { requiredKeys: [] }),
        fc.boolean(),
        fc.nat(),
        (parts, frozen, pick) => {
          const request = frozen ? Object.freeze(parts) : parts;
          seen.push(request);
          const e = { ...base(), request };
          const again = { ...base(), request: seen[pick % seen.length] };
          for (const x of [e, again, e, again]) expect(validateEvent(x)).toBe(fresh(x));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never takes an empty or missing site or time for the last valid one', () => {
    const e = base();
    expect(validateEvent(e)).toBeUndefined();
    expect(validateEvent({ ...e, site: '' })).toMatch(/^site/);
    expect(validateEvent({ ...e, site: undefined })).toMatch(/^site/);
    expect(validateEvent({ ...e, time: '' })).toMatch(/^time/);
    expect(validateEvent(e)).toBeUndefined();
  });

  it('rejects an invalid frozen part every time', () => {
    const agent = Object.freeze({ device: 'toaster', bot: false });
    const e = { ...base(), agent };
    expect(validateEvent(e)).toMatch(/^agent.device/);
    expect(validateEvent(e)).toMatch(/^agent.device/);
  });

  it('accepts a time of the second seen last only with three digits and Z', () => {
    const e = base();
    expect(validateEvent(e)).toBeUndefined();
    for (const t of [
      '2026-11-24T12:00:00.999Z',
      '2026-11-24T12:00:00.00Z',
      '2026-11-24T12:00:00.0000Z',
      '2026-11-24T12:00:00.abcZ',
      '2026-11-24T12:00:00.123z',
    ]) {
      expect(validateEvent({ ...e, time: t })).toBe(fresh({ ...e, time: t }));
    }
    expect(validateEvent({ ...e, time: '2026-11-24T12:00:00.999Z' })).toBeUndefined();
    expect(validateEvent({ ...e, time: '2026-11-24T12:00:00.12Z' })).toMatch(/^time/);
  });
});
