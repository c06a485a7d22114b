import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { ipv4Prefix, ipv6Prefix, parseIPv4, parseIPv6, prefixText } from '../../../src/enrich/routable-prefix.js';
import { isSkippedIPv4, isSkippedIPv6 } from '../../../src/enrich/special-ranges.js';

function wordsOf(bytes: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < 16; i += 4) {
    out.push(
      (((bytes[i] as number) << 24) |
        ((bytes[i + 1] as number) << 16) |
        ((bytes[i + 2] as number) << 8) |
        (bytes[i + 3] as number)) >>>
        0,
    );
  }
  return out;
}

describe('parseIPv4', () => {
  it('reads dotted quads', () => {
    expect(parseIPv4('8.8.8.8')).toBe(0x08080808);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    expect(ipv4Prefix(parseIPv4('77.88.8.8'))).toBe((77 << 16) | (88 << 8) | 8);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1..2.3',
    '1.2.3.4 ',
    '0x7f.0.0.1',
    '127.1',
    '1.2.3.-4',
    '١.2.3.4',
  ])('rejects %j', (s) => {
    expect(parseIPv4(s)).toBe(-1);
  });

  it('agrees with ipaddr.js on every address (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(parseIPv4(ip)).toBe(
          wordsOf([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...ipaddr.IPv4.parse(ip).toByteArray()])[3],
        );
      }),
    );
  });

  it('never throws, and accepts only canonical dotted quads (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const v = parseIPv4(s);
        if (v >= 0) expect(ipaddr.IPv4.parse(s).toString()).toBe(s);
      }),
    );
  });
});

describe('parseIPv6', () => {
  const w = new Uint32Array(4);

  it('reads compressed, full and dotted-tail forms', () => {
    expect(parseIPv6('2001:4860:4860::8888', w)).toBe(true);
    expect([...w]).toEqual([0x20014860, 0x48600000, 0, 0x8888]);
    expect(ipv6Prefix(w)).toBe(0x20014860 * 65536 + 0x4860);
    expect(parseIPv6('::', w)).toBe(true);
    expect([...w]).toEqual([0, 0, 0, 0]);
    expect(parseIPv6('::1', w) && w[3]).toBe(1);
    expect(parseIPv6('fe80::', w) && w[0]).toBe(0xfe800000);
    expect(parseIPv6('64:ff9b::1.2.3.4', w) && w[3]).toBe(0x01020304);
    expect(parseIPv6('1:2:3:4:5:6:7:8', w) && [...w]).toEqual([0x10002, 0x30004, 0x50006, 0x70008]);
  });

  it.each([
    '',
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'fe80::1%eth0',
    'g::1',
    '1:',
    ':1',
    '::1.2.3',
    '1:2:3:4:5:6:7:1.2.3.4',
  ])('rejects %j', (s) => {
    expect(parseIPv6(s, w)).toBe(false);
  });

  it('agrees with ipaddr.js on every address (property)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        expect(parseIPv6(ip, w)).toBe(true);
        // ipaddr.js reads any dotted tail as IPv4-mapped (::0.0.0.0 → ::ffff:0.0.0.0); RFC 4291 does not
        const cut = ip.lastIndexOf(':');
        const tail = ip.slice(cut + 1);
        let hex = ip;
        if (tail.includes('.')) {
          const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
          hex = `${ip.slice(0, cut + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        }
        expect([...w]).toEqual(wordsOf(ipaddr.IPv6.parse(hex).toByteArray()));
      }),
    );
  });

  it('never throws on junk, and whatever it accepts is an IPv6 address (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-fA-F:.%x]{0,46}$/), (s) => {
        if (parseIPv6(s, w)) expect(ipaddr.IPv6.isValid(s)).toBe(true);
      }),
    );
  });
});

describe('prefixText', () => {
  it('gives the network address of the routable prefix', () => {
    expect(prefixText(4, ipv4Prefix(parseIPv4('203.0.113.77')))).toBe('203.0.113.0');
    const w = new Uint32Array(4);
    parseIPv6('2001:db8:abcd:12::1', w);
    expect(prefixText(6, ipv6Prefix(w))).toBe('2001:db8:abcd::');
    parseIPv6('2a02:6b8::feed', w);
    expect(prefixText(6, ipv6Prefix(w))).toBe('2a02:6b8::');
    expect(prefixText(6, 0)).toBe('::');
  });

  it('round-trips every /48 (property)', () => {
    const w = new Uint32Array(4);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (p) => {
        expect(parseIPv6(prefixText(6, p), w)).toBe(true);
        expect(ipv6Prefix(w)).toBe(p);
        expect(w[2]).toBe(0);
        expect(w[3]).toBe(0);
      }),
    );
  });
});

describe('skipped ranges', () => {
  it.each([
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['127.0.0.1', true],
    ['169.254.1.1', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['100.128.0.1', false],
    ['0.1.2.3', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['192.0.2.1', true],
    ['8.8.8.8', false],
    ['95.31.1.2', false],
  ])('IPv4 %s skipped: %s', (ip, skipped) => {
    expect(isSkippedIPv4(parseIPv4(ip))).toBe(skipped);
  });

  it.each([
    ['::', true],
    ['::1', true],
    ['fe80::1', true],
    ['febf::1', true],
    ['fec0::1', false],
    ['fc00::1', true],
    ['fd00:1::1', true],
    ['ff02::1', true],
    ['2001:db8::1', true],
    ['::ffff:1.2.3.4', true],
    ['64:ff9b::8.8.8.8', true],
    ['2001:4860:4860::8888', false],
    ['2a02:6b8::1', false],
  ])('IPv6 %s skipped: %s', (ip, skipped) => {
    const w = new Uint32Array(4);
    expect(parseIPv6(ip, w)).toBe(true);
    expect(isSkippedIPv6(w)).toBe(skipped);
  });
});
