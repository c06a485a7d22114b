import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createAddressTruncator,
  createIpAnonymizer,
  normalizeAddress,
  normalizeClientAddress,
  parseAddressInto,
  parseClientAddressInto,
  UNKNOWN_ADDRESS,
  writeAddressText,
} from '../../../src/capture/anonymize-ip.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { big16k, validateWith } from './event-fixture.js';

// --- a bitwise reference, independent of the implementation ---------------------

function v4ToBig(o: readonly number[]): bigint {
  return o.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

function v6ToBig(g: readonly number[]): bigint {
  return g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
}

function maskBig(value: bigint, bits: number, width: number): bigint {
  const keep = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return value & keep;
}

/** Parses the implementation's output text back to bits (canonical forms only). */
function outputToBig(address: string): { family: 4 | 6; value: bigint } {
  if (!address.includes(':')) return { family: 4, value: v4ToBig(address.split('.').map(Number)) };
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  const groups = [...left, ...fill, ...right].map((h) => Number.parseInt(h, 16));
  expect(groups).toHaveLength(8);
  return { family: 6, value: v6ToBig(groups) };
}

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet);
const group = fc.integer({ min: 0, max: 0xffff });
const ipv6 = fc.array(group, { minLength: 8, maxLength: 8 });

/** Any RFC 4291 text form of the groups: leading zeros, case, '::' anywhere it fits. */
function ipv6Text(groups: readonly number[], style: { upper: boolean; pad: boolean; gapAt: number; gapLen: number }) {
  const hex = groups.map((g) => {
    let h = g.toString(16);
    if (style.pad) h = h.padStart(4, '0');
    return style.upper ? h.toUpperCase() : h;
  });
  const start = style.gapAt % 8;
  const len = Math.min(style.gapLen, 8 - start);
  if (len >= 1 && groups.slice(start, start + len).every((g) => g === 0)) {
    return `${hex.slice(0, start).join(':')}::${hex.slice(start + len).join(':')}`;
  }
  return hex.join(':');
}

const ipv6Style = fc.record({
  upper: fc.boolean(),
  pad: fc.boolean(),
  gapAt: fc.integer({ min: 0, max: 7 }),
  gapLen: fc.integer({ min: 0, max: 8 }),
});

// Many zero groups, so that '::' forms are common.
const sparseIpv6 = fc.array(fc.oneof(fc.constant(0), fc.constant(0), group), { minLength: 8, maxLength: 8 });

describe('createIpAnonymizer: defaults /24 and /48', () => {
  const anonymize = createIpAnonymizer();

  it('truncates IPv4 to /24 and IPv6 to /48', () => {
    expect(anonymize('203.0.113.77')).toEqual({ address: '203.0.113.0', prefixLength: 24, family: 4 });
    expect(anonymize('2001:db8:abcd:12::1')).toEqual({ address: '2001:db8:abcd::', prefixLength: 48, family: 6 });
    expect(anonymize('2001:0DB8:ABCD:0012:0000:0000:0000:0001').address).toBe('2001:db8:abcd::');
    expect(anonymize('::1')).toEqual({ address: '::', prefixLength: 48, family: 6 });
    expect(anonymize('0.0.0.0').address).toBe('0.0.0.0');
    expect(anonymize('255.255.255.255').address).toBe('255.255.255.0');
  });

  it('turns IPv4-mapped IPv6 into IPv4, in dotted and in hex form', () => {
    expect(anonymize('::ffff:203.0.113.77')).toEqual({ address: '203.0.113.0', prefixLength: 24, family: 4 });
    expect(anonymize('::FFFF:cb00:714d')).toEqual({ address: '203.0.113.0', prefixLength: 24, family: 4 });
    expect(anonymize('0:0:0:0:0:ffff:128.0.0.1').address).toBe('128.0.0.0');
  });

  it('drops zone ids, and refuses an empty zone or a zone on IPv4', () => {
    expect(anonymize('fe80::1%eth0')).toEqual({ address: 'fe80::', prefixLength: 48, family: 6 });
    expect(anonymize('fe80::1%')).toBe(UNKNOWN_ADDRESS);
    expect(anonymize('10.0.0.1%eth0')).toBe(UNKNOWN_ADDRESS);
  });

  it.each([
    ['127.1', 'inet_aton short form'],
    ['0177.0.0.1', 'octal'],
    ['0x7f.1', 'hex'],
    ['0x7f000001', 'hex long'],
    ['2130706433', 'decimal long'],
    ['01.2.3.4', 'leading zero'],
    ['1.2.3.04', 'leading zero in the last octet'],
    ['256.1.1.1', 'octet out of range'],
    ['1.2.3', 'three parts'],
    ['1.2.3.4.5', 'five parts'],
    ['1..2.3', 'empty part'],
    [' 1.2.3.4', 'leading space'],
    ['1.2.3.4 ', 'trailing space'],
    ['1.2.3.4:80', 'with a port'],
    ['[::1]', 'bracketed'],
    ['::ffff:0x7f.1', 'mapped inet_aton'],
    [':::', 'triple colon'],
    ['1:::2', 'triple colon inside'],
    ['1::2::3', 'two gaps'],
    ['12345::', 'five hex digits'],
    ['g::1', 'not hex'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
    ['::1:2:3:4:5:6:7:8', 'gap standing for no group'],
    ['1:2:3:4:5:6:7', 'seven groups'],
    ['1:', 'trailing colon'],
    [':1', 'leading colon'],
    ['1.2.3.4::', 'dotted quad first'],
    ['', 'empty'],
    ['unknown', 'a word'],
    [`${'1'.repeat(200)}`, 'overlong'],
  ])('%s (%s) is unknown, with prefix 0', (input) => {
    expect(anonymize(input)).toEqual({ address: 'unknown', prefixLength: 0, family: 0 });
    expect(normalizeAddress(input)).toBeUndefined();
  });

  it('treats undefined and non-strings as unknown', () => {
    expect(anonymize(undefined)).toBe(UNKNOWN_ADDRESS);
    expect(anonymize(42 as never)).toBe(UNKNOWN_ADDRESS);
    expect(Object.isFrozen(UNKNOWN_ADDRESS)).toBe(true);
  });

  it('property: IPv4 truncation keeps exactly the prefix bits and is idempotent', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 24 }), (o, bits) => {
        const an = createIpAnonymizer({ ipv4Prefix: bits });
        const text = o.join('.');
        const out = an(text);
        expect(out.family).toBe(4);
        expect(out.prefixLength).toBe(bits);
        const back = outputToBig(out.address);
        expect(back.value).toBe(maskBig(v4ToBig(o), bits, 32));
        expect(an(out.address)).toEqual(out);
        // ... and the same through the IPv4-mapped form
        expect(an(`::ffff:${text}`)).toEqual(out);
      }),
      { numRuns: 400 },
    );
  });

  it('property: IPv6 truncation keeps exactly the prefix bits, in any text form, and is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(ipv6, sparseIpv6), ipv6Style, fc.integer({ min: 0, max: 64 }), (g, style, bits) => {
        // Mapped addresses become IPv4: tested above.
        fc.pre(!(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff));
        const an = createIpAnonymizer({ ipv6Prefix: bits });
        const out = an(ipv6Text(g, style));
        expect(out.family).toBe(6);
        expect(out.prefixLength).toBe(bits);
        expect(outputToBig(out.address).value).toBe(maskBig(v6ToBig(g), bits, 128));
        expect(an(out.address)).toEqual(out);
        // RFC 5952: lowercase, no leading zeros, at most one '::'
        expect(out.address).toMatch(/^[0-9a-f:]+$/);
        expect(out.address.split('::').length).toBeLessThanOrEqual(2);
        expect(out.address).not.toMatch(/(^|:)0[0-9a-f]/);
      }),
      { numRuns: 600 },
    );
  });

  it('property: normalizeAddress round-trips to the same bits, canonically', () => {
    fc.assert(
      fc.property(fc.oneof(ipv6, sparseIpv6), ipv6Style, (g, style) => {
        const text = ipv6Text(g, style);
        const n = normalizeAddress(text);
        expect(n).toBeDefined();
        expect(normalizeAddress(n?.address)).toEqual(n);
        if (n?.family === 6) expect(outputToBig(n.address).value).toBe(v6ToBig(g));
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(ipv4, (o) => {
        expect(normalizeAddress(o.join('.'))).toEqual({ address: o.join('.'), family: 4 });
      }),
    );
  });

  it('property: never throws and always yields a valid client field, whatever the string', () => {
    const an = createIpAnonymizer();
    const anything = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFx.:%[] '.split('')), maxLength: 50 }),
      big16k,
    );
    fc.assert(
      fc.property(anything, (s) => {
        const out = an(s);
        const normal = normalizeAddress(s);
        expect(normal === undefined).toBe(out.family === 0);
        if (normal) expect(normal.family).toBe(out.family);
        expect(validateWith((e) => (e.client = { address: out.address, prefixLength: out.prefixLength }))).toBe(
          undefined,
        );
        if (out.family === 0) expect(out).toBe(UNKNOWN_ADDRESS);
        else expect(an(out.address)).toEqual(out);
      }),
      { numRuns: 500 },
    );
  });
});

describe('createIpAnonymizer: options', () => {
  it("preset 'strict' keeps /16 and /32; explicit prefixes win over the preset", () => {
    const strict = createIpAnonymizer({ preset: 'strict' });
    expect(strict('203.0.113.77')).toEqual({ address: '203.0.0.0', prefixLength: 16, family: 4 });
    expect(strict('2001:db8:abcd:12::1')).toEqual({ address: '2001:db8::', prefixLength: 32, family: 6 });
    const mixed = createIpAnonymizer({ preset: 'strict', ipv4Prefix: 8 });
    expect(mixed('203.0.113.77')).toEqual({ address: '203.0.0.0', prefixLength: 8, family: 4 });
    expect(mixed('2001:db8:abcd:12::1').prefixLength).toBe(32);
    expect(createIpAnonymizer({ ipv4Prefix: 20 })('203.0.127.77').address).toBe('203.0.112.0');
    expect(createIpAnonymizer({ ipv4Prefix: 0, ipv6Prefix: 0 })('203.0.113.77')).toEqual({
      address: '0.0.0.0',
      prefixLength: 0,
      family: 4,
    });
    expect(createIpAnonymizer({ ipv6Prefix: 56 })('2001:db8:abcd:12ff::1').address).toBe('2001:db8:abcd:1200::');
  });

  it.each([
    [{ ipv4Prefix: 25 }, 'ipv4Prefix'],
    [{ ipv4Prefix: 32 }, 'ipv4Prefix'],
    [{ ipv4Prefix: -1 }, 'ipv4Prefix'],
    [{ ipv4Prefix: 1.5 }, 'ipv4Prefix'],
    [{ ipv6Prefix: 65 }, 'ipv6Prefix'],
    [{ ipv6Prefix: '48' }, 'ipv6Prefix'],
    [{ preset: 'lax' }, 'preset'],
  ])('refuses %o with a coded error naming %s', (options, field) => {
    let caught: unknown;
    try {
      createIpAnonymizer(options as never);
    } catch (e) {
      caught = e;
    }
    expect(isPrivacyLogError(caught, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    expect((caught as Error).message).toContain(field);
  });

  it('suggests the right name for a misspelled option', () => {
    expect(() => createIpAnonymizer({ ipv4prefix: 16 } as never)).toThrow(/Did you mean "ipv4Prefix"/);
  });
});

describe('parseAddressInto', () => {
  it('writes IPv4 (and mapped IPv4) into the last two groups and leaves no trace on failure', () => {
    const g = new Uint16Array(8);
    expect(parseAddressInto('203.0.113.77', g)).toBe(4);
    expect([...g]).toEqual([0, 0, 0, 0, 0, 0, 0xcb00, 0x714d]);
    expect(parseAddressInto('::ffff:203.0.113.77', g)).toBe(4);
    expect([...g]).toEqual([0, 0, 0, 0, 0, 0, 0xcb00, 0x714d]);
    expect(parseAddressInto('2001:db8::1', g)).toBe(6);
    expect([...g]).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(parseAddressInto('0x7f.1', g)).toBe(0);
  });
});

const port = fc.integer({ min: 0, max: 65535 });

describe('parseClientAddressInto: X-Forwarded-For entries with a port', () => {
  it('accepts a dotted quad with a port and bracketed IPv6 with or without one', () => {
    const g = new Uint16Array(8);
    expect(parseClientAddressInto('203.0.113.7:5123', g)).toBe(4);
    expect([...g]).toEqual([0, 0, 0, 0, 0, 0, 0xcb00, 0x7107]);
    expect(parseClientAddressInto('[2001:db8::1]:443', g)).toBe(6);
    expect([...g]).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(parseClientAddressInto('[2001:db8::1]', g)).toBe(6);
    expect(parseClientAddressInto('[::ffff:203.0.113.7]:80', g)).toBe(4);
    expect(parseClientAddressInto('[fe80::1%eth0]:8080', g)).toBe(6);
    expect(normalizeClientAddress('[2001:DB8::1]:443')).toEqual({ address: '2001:db8::1', family: 6 });
  });

  it('refuses what is not an address and a port', () => {
    const g = new Uint16Array(8);
    for (const bad of [
      '203.0.113.7:',
      '203.0.113.7:99999',
      '203.0.113.7:123456',
      '203.0.113.7:8o',
      '127.1:80',
      '0x7f.1:80',
      '[203.0.113.7]:80',
      '[2001:db8::1',
      '[2001:db8::1]443',
      '[2001:db8::1]:',
      '[2001:db8::1]:65536',
      '[]:80',
      ':80',
      '2001:db8::1:80:1:2:3:4:5',
    ]) {
      expect(parseClientAddressInto(bad, g), bad).toBe(0);
    }
  });

  it('property: a port changes nothing, and without one it parses as parseAddressInto does', () => {
    const a = new Uint16Array(8);
    const b = new Uint16Array(8);
    fc.assert(
      fc.property(ipv4, port, (o, p) => {
        const text = o.join('.');
        expect(parseClientAddressInto(`${text}:${p}`, a)).toBe(4);
        expect(parseAddressInto(text, b)).toBe(4);
        expect([...a]).toEqual([...b]);
        expect(parseClientAddressInto(text, a)).toBe(4);
      }),
    );
    fc.assert(
      fc.property(ipv6, ipv6Style, fc.option(port, { nil: undefined }), (groups, style, p) => {
        const text = ipv6Text(groups, style);
        const family = parseAddressInto(text, b);
        expect(family).not.toBe(0);
        const bracketed = p === undefined ? `[${text}]` : `[${text}]:${p}`;
        expect(parseClientAddressInto(bracketed, a)).toBe(family);
        expect([...a]).toEqual([...b]);
        expect(parseClientAddressInto(text, a)).toBe(family);
      }),
    );
  });

  it('property: never throws and agrees with parseAddressInto on anything without a port form', () => {
    const a = new Uint16Array(8);
    const b = new Uint16Array(8);
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const family = parseClientAddressInto(s, a);
        expect([0, 4, 6]).toContain(family);
        if (!s.startsWith('[') && s.split(':').length !== 2) expect(family).toBe(parseAddressInto(s, b));
      }),
    );
  });
});

describe('writeAddressText and createAddressTruncator', () => {
  function written(text: string): string | undefined {
    const g = new Uint16Array(8);
    const family = parseAddressInto(text, g);
    if (family === 0) return undefined;
    const out = new Uint8Array(64);
    const n = writeAddressText(g, family, out, 3);
    return Buffer.from(out.subarray(3, n)).toString('latin1');
  }

  it('property: writes exactly the text normalizeAddress returns', () => {
    fc.assert(
      fc.property(ipv4, (o) => {
        const text = o.join('.');
        expect(written(text)).toBe(normalizeAddress(text)?.address);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(ipv6, sparseIpv6), ipv6Style, (groups, style) => {
        const text = ipv6Text(groups, style);
        expect(written(text)).toBe(normalizeAddress(text)?.address);
      }),
      { numRuns: 500 },
    );
    expect(written('::')).toBe('::');
    expect(written('::ffff:1.2.3.4')).toBe('1.2.3.4');
  });

  it('property: truncates a parsed address as the anonymizer truncates its text', () => {
    for (const options of [{}, { preset: 'strict' as const }, { ipv4Prefix: 0, ipv6Prefix: 0 }, { ipv6Prefix: 64 }]) {
      const truncate = createAddressTruncator(options);
      const anonymize = createIpAnonymizer(options);
      const g = new Uint16Array(8);
      fc.assert(
        fc.property(
          fc.oneof(
            ipv4.map((o) => o.join('.')),
            fc.oneof(ipv6, sparseIpv6).map((x) => ipv6Text(x, { upper: false, pad: false, gapAt: 0, gapLen: 0 })),
          ),
          (text) => {
            const family = parseAddressInto(text, g);
            if (family === 0) return;
            const before = [...g];
            const expected = anonymize(text);
            expect(truncate.text(g, family)).toBe(expected.address);
            expect(family === 4 ? truncate.ipv4Prefix : truncate.ipv6Prefix).toBe(expected.prefixLength);
            expect([...g]).toEqual(before); // only read
          },
        ),
      );
    }
  });

  it('reuses the text of a network seen before, and never answers for another network in the same slot', () => {
    const truncate = createAddressTruncator({});
    const g = new Uint16Array(8);
    // More networks than the cache has slots, each seen several times in a mixed order.
    const texts: string[] = [];
    for (let i = 0; i < 1500; i++) {
      texts.push(`198.${(i * 7) & 255}.${(i * 13) & 255}.${i & 255}`);
      texts.push(`2001:db8:${(i * 31).toString(16)}:${i.toString(16)}::${(i * 3).toString(16)}`);
    }
    const order = [...texts, ...texts.slice().reverse(), ...texts.filter((_, i) => i % 3 === 0)];
    for (const text of order) {
      const family = parseAddressInto(text, g);
      if (family === 0) throw new Error(text);
      // A fresh truncator has nothing cached: the reference answer.
      expect(truncate.text(g, family)).toBe(createAddressTruncator({}).text(g, family));
    }
    // The same network, another host: the very same string.
    parseAddressInto('203.0.113.7', g);
    const a = truncate.text(g, 4);
    parseAddressInto('203.0.113.200', g);
    expect(truncate.text(g, 4)).toBe(a);
    expect(a).toBe('203.0.113.0');
  });
});
