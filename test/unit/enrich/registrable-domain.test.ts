import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  embedsAddress,
  MAX_HOSTNAME_LENGTH,
  normalizeHostname,
  registrableDomain,
} from '../../../src/enrich/registrable-domain.js';
import { parseIPv4, parseIPv6 } from '../../../src/enrich/routable-prefix.js';

const v4 = (ip: string) => Uint32Array.of(0, 0, 0xffff, parseIPv4(ip));
const v6 = (ip: string) => {
  const w = new Uint32Array(4);
  if (!parseIPv6(ip, w)) throw new Error(ip);
  return w;
};
const OTHER = v4('203.0.113.9');

describe('registrableDomain', () => {
  it.each([
    ['95-31-1-2.dynamic.rostelecom.ru', 'rostelecom.ru'],
    ['host.example.co.uk', 'example.co.uk'],
    ['a.b.example.co.uk.', 'example.co.uk'],
    ['pool-1.shop.com.ru', 'shop.com.ru'],
    ['client.mtu.msk.ru', 'mtu.msk.ru'],
    ['x.y.home.spb.ru', 'home.spb.ru'],
    ['broadband.mts.ru', 'mts.ru'],
    ['MAIL.Yandex.NET', 'yandex.net'],
    ['xn--80ak6aa92e.xn--p1ai', 'xn--80ak6aa92e.xn--p1ai'],
    ['host_1.example.org', 'example.org'],
  ])('%s → %s', (ptr, expected) => {
    expect(registrableDomain(ptr, 4, OTHER)).toBe(expected);
  });

  it.each([
    ['a public suffix alone', 'co.uk'],
    ['a single label', 'localhost'],
    ['an IP literal', '1.2.3.4'],
    ['an empty label', 'a..example.com'],
    ['a leading dot', '.example.com'],
    ['a space', 'host name.example.com'],
    ['a BEL', 'host\x07.example.com'],
    ['a NUL', 'host\x00.example.com'],
    ['CR LF', 'host\r\n.example.com'],
    ['an escape sequence from the resolver', 'host\\007bell.example.com'],
    ['unicode', 'хост.example.com'],
    ['a 64-byte label', `${'a'.repeat(64)}.example.com`],
    ['254 characters', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(50)}.example.com`],
    ['an empty string', ''],
    ['just a dot', '.'],
  ])('gives nothing for %s', (_label, ptr) => {
    expect(registrableDomain(ptr, 4, OTHER)).toBeUndefined();
  });

  it('gives nothing for non-strings', () => {
    for (const x of [undefined, null, 42, {}, ['a.com']]) expect(registrableDomain(x, 4, OTHER)).toBeUndefined();
  });

  it('accepts a name of exactly the maximum length', () => {
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.ru`;
    expect(name.length).toBe(MAX_HOSTNAME_LENGTH);
    expect(registrableDomain(name, 4, OTHER)).toBe(`${'d'.repeat(58)}.ru`);
  });

  it('never keeps a domain that spells out the address, falling back to the ICANN suffix', () => {
    const ip = v4('95.31.1.3');
    expect(registrableDomain('ec2-95-31-1-3.compute-1.amazonaws.com', 4, ip)).toBe('amazonaws.com');
    expect(registrableDomain('95-31-1-3.com', 4, ip)).toBeUndefined();
    expect(registrableDomain('host.3-1-31-95.example', 4, ip)).toBeUndefined();
    expect(registrableDomain('5f1f0103.net', 4, ip)).toBeUndefined();
    expect(registrableDomain('95-31-1-4.com', 4, ip)).toBe('95-31-1-4.com'); // another address
    const six = v6('2a02:6b8:0:1:2c0:ffee:1:feed');
    expect(registrableDomain('x.2c0-ffee-1-feed.com', 6, six)).toBeUndefined();
    expect(registrableDomain('ip6.static.yandex.net', 6, six)).toBe('yandex.net');
  });

  it('embedsAddress spots dotted, dashed, reversed and hex forms', () => {
    const ip = v4('10.20.30.40');
    expect(embedsAddress('10-20-30-40.example', 4, ip)).toBe(true);
    expect(embedsAddress('40.30.20.10.example', 4, ip)).toBe(true);
    expect(embedsAddress('h0a141e28.example', 4, ip)).toBe(true);
    expect(embedsAddress('10-20-30.example', 4, ip)).toBe(false);
  });

  it('returns a lower-case hostname or nothing, and never throws (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.domain(), fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 80 })),
        (name) => {
          const d = registrableDomain(name, 4, OTHER);
          if (d !== undefined) {
            expect(normalizeHostname(d)).toBe(d);
            expect(name.toLowerCase().replace(/\.$/, '').endsWith(d)).toBe(true);
          }
        },
      ),
    );
  });
});
