import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createUrlReducer,
  DEFAULT_QUERY_ALLOW_LIST,
  isSecretSegment,
  MAX_PATH_LENGTH,
  MAX_QUERY_LENGTH,
  MAX_QUERY_VALUE_LENGTH,
  REDACTED,
  redactPath,
} from '../../../src/capture/url.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { big16k, UNSAFE_CHARS, validateWith } from './event-fixture.js';

const reduce = createUrlReducer();

describe('createUrlReducer: query', () => {
  it('keeps only allow-listed parameters (utm_*, ref, source by default), in order', () => {
    expect(DEFAULT_QUERY_ALLOW_LIST).toEqual(['utm_*', 'ref', 'source']);
    expect(reduce('/news/42?utm_source=vk&email=ivan%40mail.ru&ref=main&token=abc&utm_medium=post')).toEqual({
      path: '/news/42',
      query: 'utm_source=vk&ref=main&utm_medium=post',
    });
    expect(reduce('/?source=flyer')).toEqual({ path: '/', query: 'source=flyer' });
    expect(reduce('/?q=secret&session=1')).toEqual({ path: '/' });
    expect(reduce('/?')).toEqual({ path: '/' });
    expect(reduce('/?ref')).toEqual({ path: '/', query: 'ref' });
    expect(reduce('/?ref=&ref=b')).toEqual({ path: '/', query: 'ref=&ref=b' });
    expect(reduce('/?&&ref=a&&')).toEqual({ path: '/', query: 'ref=a' });
  });

  it('matches names exactly or by prefix, after decoding, case-sensitively', () => {
    expect(reduce('/?utm%5Fsource=x').query).toBe('utm_source=x');
    expect(reduce('/?UTM_SOURCE=x&Ref=y').query).toBeUndefined();
    expect(reduce('/?utm_=x').query).toBe('utm_=x');
    expect(reduce('/?reference=x').query).toBeUndefined();
    const custom = createUrlReducer({ queryAllowList: ['page', 'lang'] });
    expect(custom('/list?page=2&q=secret&lang=ru&utm_source=vk')).toEqual({ path: '/list', query: 'page=2&lang=ru' });
    expect(createUrlReducer({ queryAllowList: [] })('/?ref=a&utm_source=b')).toEqual({ path: '/' });
  });

  it('re-encodes values safely, and caps them', () => {
    expect(reduce('/?utm_campaign=весна+2024').query).toBe('utm_campaign=%D0%B2%D0%B5%D1%81%D0%BD%D0%B0%202024');
    expect(reduce('/?ref=a%0d%0aSet-Cookie:x').query).toBe('ref=a%0D%0ASet-Cookie%3Ax');
    expect(reduce('/?ref=%ZZ%E0%A4').query).toBe('ref=%25ZZ%25E0%25A4');
    expect(reduce('/?ref=\uD800x').query).toBe('ref=%EF%BF%BDx');
    const long = reduce(`/?ref=${'word-'.repeat(100)}`).query as string;
    expect(decodeURIComponent(long.slice(4))).toHaveLength(MAX_QUERY_VALUE_LENGTH);
  });

  it('redacts allow-listed values that look like secrets', () => {
    expect(reduce('/?ref=ivan%40mail.ru').query).toBe(`ref=${REDACTED}`);
    expect(reduce('/?ref=ivan@mail.ru').query).toBe(`ref=${REDACTED}`);
    expect(reduce('/?utm_content=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln').query).toBe(`utm_content=${REDACTED}`);
  });

  it('caps the whole query, dropping parameters that do not fit', () => {
    const many = Array.from({ length: 200 }, (_, i) => `utm_${i}=value${i}`).join('&');
    const q = reduce(`/?${many}`).query as string;
    expect(q.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
    expect(q.startsWith('utm_0=value0&utm_1=value1')).toBe(true);
    expect(q.endsWith('&')).toBe(false);
    // a 64+ character name is never kept, even under a prefix
    expect(reduce(`/?utm_${'x'.repeat(80)}=1`).query).toBeUndefined();
  });

  it('validates the allow-list once, with coded errors', () => {
    for (const bad of [['ok', 'has space'], ['a=b'], [''], [42], 'utm_*', ['x'.repeat(70)]]) {
      let caught: unknown;
      try {
        createUrlReducer({ queryAllowList: bad as never });
      } catch (e) {
        caught = e;
      }
      expect(isPrivacyLogError(caught, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
      expect((caught as Error).message).toContain('queryAllowList');
    }
    expect(() => createUrlReducer({ queryAllowlist: [] } as never)).toThrow(/Did you mean "queryAllowList"/);
  });
});

describe('createUrlReducer: path', () => {
  it('drops the query and fragment, and scheme/authority of an absolute-form target', () => {
    expect(reduce('/a/b?x=1#frag')).toEqual({ path: '/a/b' });
    expect(reduce('http://user:pw@host:80/a/b?ref=x')).toEqual({ path: '/a/b', query: 'ref=x' });
    expect(reduce('https://host')).toEqual({ path: '/' });
    expect(reduce('')).toEqual({ path: '/' });
    expect(reduce('*')).toEqual({ path: '*' });
    expect(reduce('?ref=a')).toEqual({ path: '/', query: 'ref=a' });
  });

  it('percent-encodes controls, U+2028 and non-ASCII; leaves broken escapes as text', () => {
    expect(reduce('/a\r\nb\u2028c\u0000d\u001be\u0085f').path).toBe('/a%0D%0Ab%E2%80%A8c%00d%1Be%C2%85f');
    expect(reduce('/мама').path).toBe('/%D0%BC%D0%B0%D0%BC%D0%B0');
    expect(reduce('/a b"<>`{|}^\\').path).toBe('/a%20b%22%3C%3E%60%7B%7C%7D%5E%5C');
    expect(reduce('/%E0%A4%A/%C3%28/%zz').path).toBe('/%E0%A4%A/%C3%28/%zz');
    expect(reduce('/\uD83D\uDE00/\uD800').path).toBe('/%F0%9F%98%80/%EF%BF%BD');
    expect(reduce("/keep-._~!$&'()*+,;=:@").path).toBe(`/keep-._~!$&'()*+,;${REDACTED}`);
  });

  it.each([
    ['/reset/ivan@mail.ru', '/reset/:redacted'],
    ['/u/ivan.petrov%40mail.ru/edit', '/u/:redacted/edit'],
    ['/mailto:ivan@mail.ru', '/:redacted'],
    ['/t/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', '/t/:redacted'],
    ['/u/550e8400-e29b-41d4-a716-446655440000', '/u/:redacted'],
    ['/k/3f2a9c8e7d6b5a4f', '/k/:redacted'],
    ['/card/4111111111111111', '/card/:redacted'],
    ['/s/AbC123dEf456GhI789jK', '/s/:redacted'],
    ['/s/AbC123dEf456GhI789jK%2B%2F', '/s/:redacted'],
    ['/s/aj3k5m7n9p2r4t6v8x0z1b3d5f7h9k2m', '/s/:redacted'],
    ['/files/3f2a9c8e7d6b5a4f3e2d1c0b.pdf', '/files/:redacted.pdf'],
    ['/call/+79161234567', '/call/:redacted'],
    ['/index.jsp;jsessionid=1A2B3C4D5E6F', '/index.jsp;:redacted'],
  ])('redacts %s', (input, expected) => {
    expect(reduce(input).path).toBe(expected);
  });

  it.each([
    '/news/2024/11/24/open-day-at-the-kindergarten',
    '/my-first-article-about-kindergarten-2024',
    '/docs/Annual_Report_2024_final.pdf',
    '/@ivan',
    '/en/about',
    '/assets/app.3f2a9c8e.js',
    '/news/42',
    '/2024-11-24',
    '/a-very-long-lowercase-slug-without-digits-at-all',
  ])('keeps %s', (input) => {
    expect(reduce(input).path).toBe(input);
  });

  it('caps the path at 2048 characters without splitting an escape', () => {
    const p = reduce(`/${'ab-'.repeat(1000)}`).path;
    expect(p.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
    const escaped = reduce(`/${'я'.repeat(2000)}`).path;
    expect(escaped.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
    expect(escaped).toMatch(/^(\/|%[0-9A-F]{2})+$/);
  });

  it('isSecretSegment answers for one segment', () => {
    expect(isSecretSegment('ivan@mail.ru')).toBe(true);
    expect(isSecretSegment('open-day')).toBe(false);
    expect(isSecretSegment(':redacted')).toBe(false);
    expect(isSecretSegment(42 as never)).toBe(false);
  });
});

// --- properties --------------------------------------------------------------

/** Any string: full Unicode, lone surrogates, controls, URL punctuation, and 16 KiB ones. */
const hostile = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 120 }), weight: 4 },
  {
    arbitrary: fc.string({
      unit: fc.oneof(
        fc.constantFrom(...'/?&=#%@.;:+-_~'.split('')),
        fc.constantFrom(
          '%0A',
          '%0d',
          '%00',
          '%E2%80%A8',
          '%zz',
          '%',
          '\r',
          '\n',
          '\u001b',
          '\u0000',
          '\u2028',
          '\u0085',
        ),
        fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        fc.constantFrom('utm_source', 'ref', 'source', 'ivan@mail.ru', 'eyJhbGciOiJIUzI1NiJ9', '3f2a9c8e7d6b5a4f3e2d'),
      ),
      maxLength: 60,
    }),
    weight: 4,
  },
  { arbitrary: big16k, weight: 1 },
);

describe('url properties', () => {
  it('never throws; outputs are printable ASCII within the limits and pass validateEvent', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        for (const url of [raw, `/${raw}`, `/x?${raw}`, `/x?ref=${raw}&utm_a=${raw}`]) {
          const out = reduce(url);
          expect(out.path.length).toBeGreaterThan(0);
          expect(out.path.length).toBeLessThanOrEqual(MAX_PATH_LENGTH);
          expect(out.path).toMatch(/^[\x21-\x7e]+$/);
          if (out.query !== undefined) {
            expect(out.query.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
            expect(out.query).toMatch(/^[\x21-\x7e]+$/);
          }
          expect(UNSAFE_CHARS.test(JSON.stringify(out))).toBe(false);
          expect(
            validateWith((e) => {
              e.request.path = out.path;
              if (out.query !== undefined) e.request.query = out.query;
            }),
          ).toBeUndefined();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('reducing twice changes nothing (idempotent path and query)', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        const once = reduce(`/${raw}`);
        const again = reduce(once.query === undefined ? once.path : `${once.path}?${once.query}`);
        expect(again.path).toBe(once.path);
        expect(redactPath(once.path)).toBe(once.path);
        expect(again.query).toBe(once.query);
      }),
      { numRuns: 400 },
    );
  });

  it('redacts random base64url tokens of 22 characters and more (session ids, reset links)', () => {
    // Unbiased random bytes, as a token generator makes them.
    const tokens = fc
      .noBias(fc.uint8Array({ minLength: 16, maxLength: 48 }))
      .map((bytes) => Buffer.from(bytes).toString('base64url'));
    fc.assert(
      fc.property(tokens, (token) => {
        expect(reduce(`/reset/${token}`).path).toBe(`/reset/${REDACTED}`);
      }),
      { numRuns: 1000, seed: 20261124 },
    );
  });

  it('never lets a non-allow-listed value through', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{8,16}$/), fc.stringMatching(/^[A-Za-z0-9]{10,20}$/), (name, value) => {
        fc.pre(!name.startsWith('utm_') && name !== 'ref' && name !== 'source');
        const out = reduce(`/p?${name}=${value}&ref=ok`);
        expect(JSON.stringify(out)).not.toContain(value);
        expect(out.query).toBe('ref=ok');
      }),
      { numRuns: 200 },
    );
  });
});
