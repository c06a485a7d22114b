import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeReturnPath, sameHostRefererPath } from '../../../src/consent/return-path.js';

const SITE = 'https://kindergarten.example/privacy/consent';

describe('safeReturnPath', () => {
  it('keeps same-site paths', () => {
    for (const p of ['/', '/news', '/news/1?page=2', '/a/b#c', '/%2F%2Fevil.example'])
      expect(safeReturnPath(p)).toBe(p);
  });

  it('refuses anything a browser could resolve to another host', () => {
    for (const p of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      '\\\\evil',
      '/\t/evil.example',
      'evil',
      '',
      ' /',
    ]) {
      expect(safeReturnPath(p), JSON.stringify(p)).toBeUndefined();
    }
    expect(safeReturnPath(`/${'a'.repeat(3000)}`)).toBeUndefined();
    expect(safeReturnPath(42)).toBeUndefined();
  });

  it('whatever it accepts, a browser resolves on this very site (property)', () => {
    const tricky = fc.constantFrom(
      '/',
      '\\',
      '.',
      ':',
      '@',
      '?',
      '#',
      '%',
      'a',
      'evil.example',
      '\t',
      '\n',
      ' ',
      '\u3002',
    );
    fc.assert(
      fc.property(
        fc.array(tricky, { maxLength: 12 }).map((a) => a.join('')),
        (p) => {
          const safe = safeReturnPath(p);
          if (safe !== undefined) expect(new URL(safe, SITE).host).toBe('kindergarten.example');
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('sameHostRefererPath', () => {
  it('returns the path and query of a Referer on this host only', () => {
    expect(sameHostRefererPath('https://kindergarten.example/news?x=1#frag', 'kindergarten.example')).toBe('/news?x=1');
    expect(sameHostRefererPath('https://KinderGarten.example/', 'kindergarten.example')).toBe('/');
    expect(sameHostRefererPath('https://evil.example/news', 'kindergarten.example')).toBeUndefined();
    expect(sameHostRefererPath('https://kindergarten.example.evil.example/', 'kindergarten.example')).toBeUndefined();
    expect(sameHostRefererPath('javascript:alert(1)', 'kindergarten.example')).toBeUndefined();
    expect(sameHostRefererPath('not a url', 'kindergarten.example')).toBeUndefined();
    expect(sameHostRefererPath(undefined, 'kindergarten.example')).toBeUndefined();
    expect(sameHostRefererPath('https://kindergarten.example/', undefined)).toBeUndefined();
  });
});
