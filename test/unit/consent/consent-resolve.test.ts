import { describe, expect, it } from 'vitest';
import { encodeConsentCookie } from '../../../src/consent/cookie-codec.js';
import { type ConsentOptions, createConsent } from '../../../src/consent/index.js';
import { ERROR_CODES, isPrivacyLogError } from '../../../src/errors.js';

const today = Math.floor(Date.now() / 86_400_000);
const cookie = (analytics: boolean, policyVersion = '1', day = today) =>
  `privacy_consent=${encodeConsentCookie({ policyVersion, analytics, day })}`;

describe('consent.resolve precedence', () => {
  const consent = createConsent();
  // [cookie, Sec-GPC, DNT] → [analytics, source, askAgain]
  const table: Array<[string | undefined, string | undefined, string | undefined, string, string, boolean]> = [
    [undefined, undefined, undefined, 'unset', 'default', true],
    [undefined, undefined, '1', 'denied', 'dnt', true],
    [undefined, '1', undefined, 'denied', 'gpc', true],
    [undefined, '1', '1', 'denied', 'gpc', true],
    [cookie(true), undefined, undefined, 'granted', 'choice', false],
    [cookie(true), '1', '1', 'granted', 'choice', false],
    [cookie(false), undefined, undefined, 'denied', 'choice', false],
    [cookie(false), '1', undefined, 'denied', 'choice', false],
    ['other=1', '0', '0', 'unset', 'default', true],
    ['privacy_consent=garbage', '1', undefined, 'denied', 'gpc', true],
  ];
  it.each(table)('cookie %s, GPC %s, DNT %s → %s from %s', (c, gpc, dnt, analytics, source, askAgain) => {
    const s = consent.resolve(c, gpc, dnt);
    expect(s.analytics).toBe(analytics);
    expect(s.source).toBe(source);
    expect(s.askAgain).toBe(askAgain);
    expect(s.policyVersion).toBe('1');
    expect(s.gpc).toBe(gpc === '1');
    expect(s.dnt).toBe(dnt === '1');
  });

  it('counts only the exact value 1 for Sec-GPC and DNT', () => {
    for (const v of ['1 ', ' 1', 'true', '01', '1, 1', 'yes', '', '0', '2']) {
      const s = consent.resolve(undefined, v, v);
      expect(s.source, JSON.stringify(v)).toBe('default');
      expect(s.gpc).toBe(false);
      expect(s.dnt).toBe(false);
    }
  });

  it('can ignore GPC and DNT when configured, still reporting the signals', () => {
    const c = createConsent({ honorGpc: false, honorDnt: false });
    const s = c.resolve(undefined, '1', '1');
    expect([s.analytics, s.source, s.gpc, s.dnt]).toEqual(['unset', 'default', true, true]);
    const onlyDnt = createConsent({ honorGpc: false }).resolve(undefined, '1', '1');
    expect(onlyDnt.source).toBe('dnt');
  });

  it('uses the configured default', () => {
    expect(createConsent({ default: 'denied' }).resolve(undefined, undefined, undefined).analytics).toBe('denied');
    const granted = createConsent({ default: 'granted' }).resolve(undefined, undefined, undefined);
    expect([granted.analytics, granted.source]).toEqual(['granted', 'default']);
  });

  it('treats a choice for another policy version as unset and asks again', () => {
    const c = createConsent({ policyVersion: '2025-03' });
    const old = c.resolve(cookie(true, '2024-01'), undefined, undefined);
    expect([old.analytics, old.source, old.askAgain, old.policyVersion]).toEqual(['unset', 'default', true, '2025-03']);
    const current = c.resolve(cookie(true, '2025-03'), undefined, undefined);
    expect([current.analytics, current.askAgain]).toEqual(['granted', false]);
  });

  it('reports the decision day and rejects choices from the future or older than maxAgeDays', () => {
    const fresh = consent.resolve(cookie(false, '1', today - 10), undefined, undefined);
    expect(fresh.decidedAt).toBe(new Date((today - 10) * 86_400_000).toISOString().slice(0, 10));
    expect(consent.resolve(cookie(true, '1', today - 395), undefined, undefined).source).toBe('choice');
    expect(consent.resolve(cookie(true, '1', today - 396), undefined, undefined).source).toBe('default');
    expect(consent.resolve(cookie(true, '1', today + 1), undefined, undefined).source).toBe('choice');
    expect(consent.resolve(cookie(true, '1', today + 2), undefined, undefined).source).toBe('default');
    const short = createConsent({ maxAgeDays: 30 });
    expect(short.resolve(cookie(true, '1', today - 31), undefined, undefined).source).toBe('default');
  });

  it('judges the age of the cookie against the request time when given', () => {
    const c = cookie(true, '1', 20_000);
    const day = (d: number) => d * 86_400_000 + 3_600_000;
    expect(consent.resolve(c, undefined, undefined, day(20_000)).source).toBe('choice');
    expect(consent.resolve(c, undefined, undefined, day(20_000 + 395)).source).toBe('choice');
    expect(consent.resolve(c, undefined, undefined, day(20_000 + 396)).source).toBe('default');
    expect(consent.resolve(c, undefined, undefined, day(20_000 - 2)).source).toBe('default');
    expect(consent.resolve(c, undefined, undefined, Number.NaN).source).toBe(
      today - 20_000 <= 395 ? 'choice' : 'default',
    );
  });

  it('gives every state the same shape', () => {
    const shapes = new Set(
      [
        consent.resolve(undefined, undefined, undefined),
        consent.resolve(undefined, '1', undefined),
        consent.resolve(undefined, undefined, '1'),
        consent.resolve(cookie(true), undefined, undefined),
        consent.resolve(cookie(false), undefined, undefined),
      ].map((s) => Object.keys(s).join(',')),
    );
    expect([...shapes]).toEqual(['analytics,source,policyVersion,decidedAt,gpc,dnt,sessionId,askAgain']);
  });

  it('treats duplicated, overlong and broken cookies as no choice, never throwing', () => {
    const both = `${cookie(true)}; ${cookie(true)}`;
    expect(consent.resolve(both, undefined, undefined).source).toBe('default');
    expect(consent.resolve(`${cookie(true)}x`, undefined, undefined).source).toBe('default');
    expect(consent.resolve(`privacy_consent=${'1.g.'.repeat(5000)}`, undefined, undefined).source).toBe('default');
    expect(consent.resolve('privacy_consent=%00%0a\u2028', undefined, undefined).source).toBe('default');
    expect(consent.resolve(`big=${'x'.repeat(16 * 1024)}; ${cookie(true)}`, undefined, undefined).source).toBe(
      'default',
    );
  });
});

describe('consent sessions', () => {
  const consent = createConsent();
  const id = consent.newSessionId();
  const session = `privacy_session=${id}`;

  it('exposes the session only when analytics is granted', () => {
    expect(consent.resolve(`${cookie(true)}; ${session}`, undefined, undefined).sessionId).toBe(id);
    expect(consent.resolve(`${cookie(false)}; ${session}`, undefined, undefined).sessionId).toBeUndefined();
    expect(consent.resolve(session, undefined, undefined).sessionId).toBeUndefined();
    expect(consent.resolve(session, '1', undefined).sessionId).toBeUndefined();
    expect(createConsent({ default: 'granted' }).resolve(session, undefined, undefined).sessionId).toBe(id);
  });

  it('ignores invalid or duplicated session cookies', () => {
    for (const bad of [`${id}x`, id.slice(1), `${id.slice(0, 21)}B`, 'a'.repeat(22), '']) {
      expect(
        consent.resolve(`${cookie(true)}; privacy_session=${bad}`, undefined, undefined).sessionId,
      ).toBeUndefined();
    }
    const twice = `${cookie(true)}; ${session}; privacy_session=${consent.newSessionId()}`;
    expect(consent.resolve(twice, undefined, undefined).sessionId).toBeUndefined();
    expect(consent.sessionIdFrom(session)).toBe(id);
    expect(consent.sessionIdFrom(undefined)).toBeUndefined();
  });

  it('honours custom cookie names', () => {
    const c = createConsent({ cookieName: 'pc', sessionCookieName: 'ps' });
    const v = encodeConsentCookie({ policyVersion: '1', analytics: true, day: today });
    const s = c.resolve(`pc=${v}; ps=${id}`, undefined, undefined);
    expect([s.analytics, s.sessionId]).toEqual(['granted', id]);
    expect(c.resolve(`${cookie(true)}; ${session}`, undefined, undefined).analytics).toBe('unset');
  });
});

describe('createConsent options', () => {
  const bad: Array<[ConsentOptions, string]> = [
    [{ policyVersion: '' }, 'policyVersion'],
    [{ policyVersion: 'v 1' }, 'policyVersion'],
    [{ policyVersion: 'x'.repeat(33) }, 'policyVersion'],
    [{ honorGpc: 'yes' as unknown as boolean }, 'honorGpc'],
    [{ honorDnt: 1 as unknown as boolean }, 'honorDnt'],
    [{ default: 'maybe' as 'unset' }, 'default'],
    [{ cookieName: 'a;b' }, 'cookieName'],
    [{ sessionCookieName: '' }, 'sessionCookieName'],
    [{ cookieName: 'same', sessionCookieName: 'same' }, 'sessionCookieName'],
    [{ maxAgeDays: 0 }, 'maxAgeDays'],
    [{ maxAgeDays: 401 }, 'maxAgeDays'],
    [{ maxAgeDays: 1.5 }, 'maxAgeDays'],
    [{ sessionIdleMinutes: 0 }, 'sessionIdleMinutes'],
  ];
  it.each(bad)('rejects %j with a coded error naming %s', (options, field) => {
    try {
      createConsent(options);
      expect.unreachable();
    } catch (e) {
      expect(isPrivacyLogError(e, ERROR_CODES.INVALID_OPTION)).toBe(true);
      expect((e as Error).message).toContain(field);
    }
  });

  it('suggests the right name for a misspelled key', () => {
    expect(() => createConsent({ honourGpc: true } as ConsentOptions)).toThrow(/Did you mean "honorGpc"/);
    expect(() => createConsent({ policyVerison: '2' } as ConsentOptions)).toThrow(/Did you mean "policyVersion"/);
  });

  it('fills in the named defaults', () => {
    expect(createConsent().options).toEqual({
      policyVersion: '1',
      honorGpc: true,
      honorDnt: true,
      default: 'unset',
      cookieName: 'privacy_consent',
      sessionCookieName: 'privacy_session',
      maxAgeDays: 395,
      sessionIdleMinutes: 30,
    });
  });
});
