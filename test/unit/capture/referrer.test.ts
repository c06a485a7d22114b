import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createReferrerReducer,
  DEFAULT_SEARCH_HOSTS,
  DEFAULT_SOCIAL_HOSTS,
  IP_REFERRER_HOST,
} from '../../../src/capture/referrer.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { big16k, UNSAFE_CHARS, validateWith } from './event-fixture.js';

const reduce = createReferrerReducer();
const SITE = 'oblachko.ru';

describe('createReferrerReducer', () => {
  it('reduces an external referrer to its host: no path, query, userinfo or port, lowercased', () => {
    expect(reduce('https://news.example.com/story/1?utm=x#a', SITE)).toEqual({
      host: 'news.example.com',
      type: 'external',
    });
    expect(reduce('HTTPS://User:Secret@Blog.Example.COM:8443/p?q', SITE)).toEqual({
      host: 'blog.example.com',
      type: 'external',
    });
    expect(reduce('http://example.com.', SITE)).toEqual({ host: 'example.com', type: 'external' });
    expect(reduce('https://xn--80ak6aa92e.com/', SITE)).toEqual({ host: 'xn--80ak6aa92e.com', type: 'external' });
  });

  it.each([
    ['https://www.google.com/', 'search'],
    ['https://www.google.co.uk/search?q=x', 'search'],
    ['https://yandex.ru/search/?text=детский+сад', 'search'],
    ['https://ya.ru/', 'search'],
    ['https://www.bing.com/search?q=x', 'search'],
    ['https://duckduckgo.com/', 'search'],
    ['https://go.mail.ru/search?q=1', 'search'],
    ['https://vk.com/wall-1_2', 'social'],
    ['https://m.vk.com/', 'social'],
    ['https://ok.ru/group/1', 'social'],
    ['https://t.me/s/oblachko', 'social'],
    ['https://l.facebook.com/l.php?u=x', 'social'],
    ['https://my.mail.ru/community/x', 'social'],
    ['https://zen.yandex.ru/media/x', 'social'],
    ['https://news.ycombinator.com/item?id=1', 'external'],
    ['https://notgoogle.com/', 'external'],
  ])('%s is %s', (referer, type) => {
    expect(reduce(referer, SITE)?.type).toBe(type);
  });

  it('keeps the path of a same-site referrer, without its query, redacted like request paths', () => {
    expect(reduce('https://oblachko.ru/news/42?utm_source=x', SITE)).toEqual({
      host: 'oblachko.ru',
      path: '/news/42',
      type: 'internal',
    });
    expect(reduce('https://www.oblachko.ru/reset/ivan@mail.ru#x', 'oblachko.ru:3000')).toEqual({
      host: 'www.oblachko.ru',
      path: '/reset/:redacted',
      type: 'internal',
    });
    expect(reduce('http://OBLACHKO.RU', 'Oblachko.ru')).toEqual({ host: 'oblachko.ru', path: '/', type: 'internal' });
    expect(reduce('https://oblachko.ru/a%0d%0ab', SITE)?.path).toBe('/a%0d%0ab');
    // another subdomain is another site
    expect(reduce('https://blog.oblachko.ru/x', SITE)).toEqual({ host: 'blog.oblachko.ru', type: 'external' });
    // no site host: nothing is internal
    expect(reduce('https://oblachko.ru/x', undefined)).toEqual({ host: 'oblachko.ru', type: 'external' });
  });

  it('never keeps an IP address as a host', () => {
    expect(reduce('http://192.168.1.5:8080/admin', SITE)).toEqual({ host: IP_REFERRER_HOST, type: 'external' });
    expect(reduce('http://[2001:db8::1]:3000/', SITE)).toEqual({ host: IP_REFERRER_HOST, type: 'external' });
  });

  it.each([
    undefined,
    '',
    'not a url',
    'android-app://com.google.android.gm/',
    'ftp://example.com/',
    'https:///path',
    'https://',
    'https://exa mple.com/',
    'https://evil.com\r\n/x',
    'https://пример.рф/',
    'https://a..b/',
    'https://[::1/',
    `https://${'a'.repeat(300)}.com/`,
  ])('turns garbage %j into no referrer', (referer) => {
    expect(reduce(referer, SITE)).toBeUndefined();
  });

  it('shares frozen results for external hosts', () => {
    const a = reduce('https://vk.com/a', SITE);
    const b = reduce('https://vk.com/b?x', SITE);
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('takes custom lists, replacing the defaults', () => {
    expect(DEFAULT_SEARCH_HOSTS).toContain('google.*');
    expect(DEFAULT_SOCIAL_HOSTS).toContain('vk.com');
    const custom = createReferrerReducer({ searchHosts: ['search.example'], socialHosts: ['forum.*'] });
    expect(custom('https://x.search.example/', SITE)?.type).toBe('search');
    expect(custom('https://forum.co.uk/', SITE)?.type).toBe('social');
    expect(custom('https://www.google.com/', SITE)?.type).toBe('external');
  });

  it('validates the lists once, with coded errors', () => {
    for (const bad of [{ searchHosts: 'google.com' }, { searchHosts: ['https://google.com'] }, { socialHosts: [''] }]) {
      let caught: unknown;
      try {
        createReferrerReducer(bad as never);
      } catch (e) {
        caught = e;
      }
      expect(isPrivacyLogError(caught, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    }
    expect(() => createReferrerReducer({ searchHost: [] } as never)).toThrow(/Did you mean "searchHosts"/);
  });

  it('property: never throws, and every result passes validateEvent', () => {
    const anything = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.string({ unit: 'binary', maxLength: 120 }).map((s) => `https://${s}`),
      fc.string({ unit: 'binary', maxLength: 120 }).map((s) => `https://oblachko.ru/${s}`),
      big16k.map((s) => `http://oblachko.ru/${s}`),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
    );
    fc.assert(
      fc.property(anything, (referer) => {
        const r = reduce(referer, SITE);
        if (r === undefined) return;
        expect(UNSAFE_CHARS.test(JSON.stringify(r))).toBe(false);
        expect(r.host).not.toMatch(/[/?#@:]/);
        if (r.type !== 'internal') expect(r.path).toBeUndefined();
        expect(validateWith((e) => (e.referrer = r))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});
