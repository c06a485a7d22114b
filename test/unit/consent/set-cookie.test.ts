import { describe, expect, it } from 'vitest';
import { decodeConsentCookie } from '../../../src/consent/cookie-codec.js';
import { createConsent } from '../../../src/consent/index.js';
import { isPrivacyLogError } from '../../../src/errors.js';

/** Parse a Set-Cookie value into its name, value and attributes (lowercased names). */
function parse(setCookie: string) {
  const [pair, ...attrs] = setCookie.split('; ');
  const eq = (pair as string).indexOf('=');
  const attributes = new Map<string, string>();
  for (const a of attrs) {
    const i = a.indexOf('=');
    attributes.set((i < 0 ? a : a.slice(0, i)).toLowerCase(), i < 0 ? '' : a.slice(i + 1));
  }
  return { name: (pair as string).slice(0, eq), value: (pair as string).slice(eq + 1), attributes };
}

const consent = createConsent({ policyVersion: '2025-03' });
const NOW = Date.UTC(2026, 10, 24, 15, 0, 0);

describe('Set-Cookie builders', () => {
  it('granting sets a 13-month consent cookie and a fresh 30-minute session cookie', () => {
    const [c, s, ...rest] = consent.choiceCookies(true, { secure: true, now: NOW }).map(parse);
    expect(rest).toHaveLength(0);
    expect(c?.name).toBe('privacy_consent');
    expect(decodeConsentCookie(c?.value ?? '')).toEqual({
      policyVersion: '2025-03',
      analytics: true,
      day: Math.floor(NOW / 86_400_000),
    });
    expect(c?.attributes.get('max-age')).toBe(String(395 * 86_400));
    expect(s?.name).toBe('privacy_session');
    expect(s?.value).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(s?.attributes.get('max-age')).toBe('1800');
    for (const x of [c, s]) {
      expect(x?.attributes.has('httponly')).toBe(true);
      expect(x?.attributes.get('samesite')).toBe('Lax');
      expect(x?.attributes.get('path')).toBe('/');
      expect(x?.attributes.has('secure')).toBe(true);
      expect(x?.attributes.has('expires')).toBe(false);
    }
  });

  it('adds Secure only over HTTPS', () => {
    for (const v of [
      ...consent.choiceCookies(true, { secure: false }),
      ...consent.choiceCookies(false, { secure: false }),
      ...consent.clearCookies(false),
      consent.sessionCookie(consent.newSessionId(), false),
    ]) {
      expect(parse(v).attributes.has('secure'), v).toBe(false);
      expect(parse(v).attributes.has('httponly')).toBe(true);
    }
    expect(parse(consent.sessionCookie(consent.newSessionId(), true)).attributes.has('secure')).toBe(true);
  });

  it('denying records the refusal and expires the session cookie', () => {
    const [c, s] = consent.choiceCookies(false, { secure: false, now: NOW }).map(parse);
    expect(decodeConsentCookie(c?.value ?? '')?.analytics).toBe(false);
    expect([s?.name, s?.value, s?.attributes.get('max-age')]).toEqual(['privacy_session', '', '0']);
  });

  it('clears both cookies', () => {
    const cleared = consent.clearCookies(true).map(parse);
    expect(cleared.map((c) => [c.name, c.value, c.attributes.get('max-age')])).toEqual([
      ['privacy_consent', '', '0'],
      ['privacy_session', '', '0'],
    ]);
    // the returned array is a copy: mutating it does not change the next call
    consent.clearCookies(true).pop();
    expect(consent.clearCookies(true)).toHaveLength(2);
  });

  it('uses the configured lifetimes and names', () => {
    const c = createConsent({ maxAgeDays: 180, sessionIdleMinutes: 15, cookieName: 'pc', sessionCookieName: 'ps' });
    const [a, b] = c.choiceCookies(true, { secure: false }).map(parse);
    expect([a?.name, a?.attributes.get('max-age'), b?.name, b?.attributes.get('max-age')]).toEqual([
      'pc',
      String(180 * 86_400),
      'ps',
      '900',
    ]);
  });

  it('refuses to build a session cookie from anything but a session id', () => {
    for (const bad of ['x', 'a\r\nSet-Cookie: evil=1', `${consent.newSessionId()}; Domain=evil.example`]) {
      try {
        consent.sessionCookie(bad, false);
        expect.unreachable();
      } catch (e) {
        expect(isPrivacyLogError(e)).toBe(true);
      }
    }
  });

  it('the cookie a choice sets resolves to that choice, and the session with it', () => {
    const set = consent.choiceCookies(true, { secure: false });
    const header = set.map((v) => v.slice(0, v.indexOf(';'))).join('; ');
    const state = consent.resolve(header, '1', undefined);
    expect([state.analytics, state.source, state.askAgain]).toEqual(['granted', 'choice', false]);
    expect(state.sessionId).toBe(parse(set[1] as string).value);
  });
});
