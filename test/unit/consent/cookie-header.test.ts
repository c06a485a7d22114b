import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DUPLICATE_COOKIE, findCookie, MAX_COOKIE_HEADER_SCAN } from '../../../src/consent/cookie-header.js';

const N = 'privacy_consent=';

describe('findCookie', () => {
  it('finds the cookie wherever it is in the header', () => {
    expect(findCookie('privacy_consent=abc', N)).toBe('abc');
    expect(findCookie('a=1; privacy_consent=abc; b=2', N)).toBe('abc');
    expect(findCookie('a=1;privacy_consent=abc', N)).toBe('abc');
    expect(findCookie('a=1;  \tprivacy_consent=abc  ', N)).toBe('abc');
    expect(findCookie('privacy_consent=', N)).toBe('');
  });

  it('does not match a longer name or a value that contains the name', () => {
    expect(findCookie('xprivacy_consent=abc', N)).toBeUndefined();
    expect(findCookie('my_privacy_consent=abc; other=1', N)).toBeUndefined();
    expect(findCookie('a=privacy_consent=abc', N)).toBeUndefined();
    expect(findCookie('privacy_consent_old=abc', N)).toBeUndefined();
    expect(findCookie('', N)).toBeUndefined();
  });

  it('reports a duplicated cookie as ambiguous', () => {
    expect(findCookie('privacy_consent=a; privacy_consent=b', N)).toBe(DUPLICATE_COOKIE);
    expect(findCookie('privacy_consent=a; x=privacy_consent=b', N)).toBe('a');
  });

  it('looks only at the first MAX_COOKIE_HEADER_SCAN characters', () => {
    const filler = `junk=${'x'.repeat(MAX_COOKIE_HEADER_SCAN)}`;
    expect(findCookie(`${filler}; privacy_consent=abc`, N)).toBeUndefined();
    expect(findCookie(`privacy_consent=abc; ${filler}`, N)).toBe('abc');
  });

  it('never throws and returns a substring without separators', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 20 }), (junk, v) => {
        const r = findCookie(`${junk}; privacy_consent=${v}`, N);
        if (typeof r === 'string') {
          expect(r.includes(';')).toBe(false);
          expect(`${junk}; privacy_consent=${v}`.includes(r)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
