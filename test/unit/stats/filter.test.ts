import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrivacyLogError } from '../../../src/errors.js';
import { checkFilter, MAX_FILTERS, matchesFilter, parseFilter, parseFilters } from '../../../src/stats/filter.js';
import { PROPERTIES } from '../../../src/stats/query.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isPrivacyLogError(e) ? e.code : 'not-coded';
  }
  return undefined;
}

describe('parseFilter', () => {
  it('parses == and !=, keeping = and ! inside values', () => {
    expect(parseFilter('page==/news')).toEqual({ property: 'page', op: '==', value: '/news' });
    expect(parseFilter('browser!=Firefox')).toEqual({ property: 'browser', op: '!=', value: 'Firefox' });
    expect(parseFilter('page==/a==b!=c')).toEqual({ property: 'page', op: '==', value: '/a==b!=c' });
    expect(parseFilter('page!=/x==y')).toEqual({ property: 'page', op: '!=', value: '/x==y' });
    expect(parseFilter('page==')).toEqual({ property: 'page', op: '==', value: '' });
    expect(parseFilter('page==/группы')).toEqual({ property: 'page', op: '==', value: '/группы' });
  });

  it('names the valid properties, with a suggestion, for an unknown one', () => {
    try {
      parseFilter('pgae==/news');
      expect.unreachable();
    } catch (e) {
      expect(isPrivacyLogError(e, 'PRIVACY_LOG_E_INVALID_QUERY')).toBe(true);
      expect((e as Error).message).toContain('Did you mean "page"?');
      for (const p of PROPERTIES) expect((e as Error).message).toContain(p);
    }
  });

  it('rejects a filter without an operator and over-long values with INVALID_QUERY', () => {
    expect(codeOf(() => parseFilter('page=/news'))).toBe('PRIVACY_LOG_E_INVALID_QUERY');
    expect(codeOf(() => parseFilter(`page==${'x'.repeat(3000)}`))).toBe('PRIVACY_LOG_E_INVALID_QUERY');
    expect(codeOf(() => checkFilter({ property: 'page', op: '~=', value: 'x' }))).toBe('PRIVACY_LOG_E_INVALID_QUERY');
    expect(codeOf(() => checkFilter(null))).toBe('PRIVACY_LOG_E_INVALID_QUERY');
    expect(codeOf(() => parseFilters(Array(MAX_FILTERS + 1).fill('page==/')))).toBe('PRIVACY_LOG_E_INVALID_QUERY');
  });

  it('splits a ;-separated list, but keeps array items whole', () => {
    expect(parseFilters('page==/news;browser!=Firefox')).toHaveLength(2);
    expect(parseFilters(['page==/a;b'])).toEqual([{ property: 'page', op: '==', value: '/a;b' }]);
  });

  it('never throws anything but a coded INVALID_QUERY, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const code = codeOf(() => parseFilter(s));
        expect(code === undefined || code === 'PRIVACY_LOG_E_INVALID_QUERY').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every property, operator and value (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROPERTIES),
        fc.constantFrom('==', '!='),
        fc.string({ maxLength: 40 }),
        (p, op, v) => {
          expect(parseFilter(`${p}${op}${v}`)).toEqual({ property: p, op, value: v });
        },
      ),
    );
  });

  it('matches: == needs the value, != keeps events without it', () => {
    expect(matchesFilter('/news', { property: 'page', op: '==', value: '/news' })).toBe(true);
    expect(matchesFilter(undefined, { property: 'page', op: '==', value: '/news' })).toBe(false);
    expect(matchesFilter(undefined, { property: 'page', op: '!=', value: '/news' })).toBe(true);
    expect(matchesFilter('/news', { property: 'page', op: '!=', value: '/news' })).toBe(false);
  });
});
