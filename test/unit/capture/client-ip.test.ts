import fc from 'fast-check';
import proxyaddr from 'proxy-addr';
import { describe, expect, it } from 'vitest';
import {
  compileTrustProxy,
  MAX_FORWARDED_FOR_LENGTH,
  MAX_FORWARDED_HOPS,
  resolveClientAddress,
  type TrustProxy,
} from '../../../src/capture/client-ip.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { big16k } from './event-fixture.js';

/** proxy-addr itself, on a request-shaped object: the reference. */
function reference(socket: string, xff: string | undefined, trust: Parameters<typeof proxyaddr>[1]): string {
  const req = { headers: xff === undefined ? {} : { 'x-forwarded-for': xff }, socket: { remoteAddress: socket } };
  return proxyaddr(req as never, trust);
}

function codedError(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    expect(isPrivacyLogError(e, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    return e as Error;
  }
  throw new Error('expected an INVALID_OPTION error');
}

describe('resolveClientAddress', () => {
  it('trusts nothing by default: the socket address, X-Forwarded-For unread', () => {
    const none = compileTrustProxy();
    expect(none).toEqual({ kind: 'none' });
    expect(resolveClientAddress('10.0.0.2', '203.0.113.9', none)).toBe('10.0.0.2');
    expect(resolveClientAddress('10.0.0.2', '203.0.113.9', compileTrustProxy(false))).toBe('10.0.0.2');
    expect(resolveClientAddress('10.0.0.2', '203.0.113.9', compileTrustProxy(0))).toBe('10.0.0.2');
    expect(resolveClientAddress(undefined, '203.0.113.9', none)).toBeUndefined();
    // An object that throws when read proves the fast path never touches the header.
    const trap = {
      get length(): number {
        throw new Error('read');
      },
    };
    expect(resolveClientAddress('10.0.0.2', trap as never, none)).toBe('10.0.0.2');
  });

  it('with a hop count, skips that many proxies from the right', () => {
    const one = compileTrustProxy(1);
    expect(resolveClientAddress('10.0.0.2', 'spoofed, 203.0.113.9', one)).toBe('203.0.113.9');
    const two = compileTrustProxy(2);
    expect(resolveClientAddress('10.0.0.2', 'spoofed, 203.0.113.9, 10.0.0.1', two)).toBe('203.0.113.9');
    // fewer entries than hops: the left-most one
    expect(resolveClientAddress('10.0.0.2', '203.0.113.9', two)).toBe('203.0.113.9');
    expect(resolveClientAddress('10.0.0.2', undefined, two)).toBe('10.0.0.2');
    expect(resolveClientAddress('10.0.0.2', '', two)).toBe('10.0.0.2');
  });

  it('with CIDRs and named sets, returns the closest untrusted address', () => {
    const trust = compileTrustProxy('loopback, 10.0.0.0/8');
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, 10.1.2.3', trust)).toBe('198.51.100.7');
    expect(resolveClientAddress('127.0.0.1', 'spoofed, 198.51.100.7, 10.1.2.3', trust)).toBe('198.51.100.7');
    expect(resolveClientAddress('::ffff:127.0.0.1', '198.51.100.7', trust)).toBe('198.51.100.7');
    expect(resolveClientAddress('::1', '2001:db8::5', trust)).toBe('2001:db8::5');
    expect(resolveClientAddress('203.0.113.1', '198.51.100.7', trust)).toBe('203.0.113.1');
    expect(resolveClientAddress('127.0.0.1', ['1.1.1.1, 2.2.2.2', '10.0.0.1'], trust)).toBe('2.2.2.2');
    const linklocal = compileTrustProxy(['linklocal', 'uniquelocal']);
    expect(resolveClientAddress('fe80::1%eth0', '192.168.1.4, 172.16.0.9', linklocal)).toBe('192.168.1.4');
    const netmask = compileTrustProxy('10.0.0.0/255.0.0.0');
    expect(resolveClientAddress('10.9.9.9', '198.51.100.7', netmask)).toBe('198.51.100.7');
  });

  it('reads a proxy entry with a port by its address, and returns a client entry with its port as written', () => {
    const trust = compileTrustProxy('loopback, 10.0.0.0/8');
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7:5123, 10.1.2.3:8080', trust)).toBe('198.51.100.7:5123');
    expect(resolveClientAddress('127.0.0.1', '[2001:db8::5]:443, [::1]:8443', trust)).toBe('[2001:db8::5]:443');
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, 10.1.2.3:99999', trust)).toBe('10.1.2.3:99999');
  });

  it('never trusts an inet_aton form posing as a proxy address', () => {
    const trust = compileTrustProxy('loopback');
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, 0x7f.1', trust)).toBe('0x7f.1');
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7, 127.1', trust)).toBe('127.1');
  });

  it('with a function, asks it per hop, and treats a throwing function as "not trusted"', () => {
    const seen: [string, number][] = [];
    const trust = compileTrustProxy((address, hop) => {
      seen.push([address, hop]);
      return hop < 2;
    });
    expect(resolveClientAddress('10.0.0.2', 'a, b, c', trust)).toBe('b');
    expect(seen).toEqual([
      ['10.0.0.2', 0],
      ['c', 1],
      ['b', 2],
    ]);
    const broken = compileTrustProxy(() => {
      throw new Error('boom');
    });
    expect(resolveClientAddress('10.0.0.2', '203.0.113.9', broken)).toBe('10.0.0.2');
  });

  it('survives malformed, spoofed and overlong X-Forwarded-For', () => {
    const trust = compileTrustProxy('loopback, 10.0.0.0/8');
    expect(resolveClientAddress('127.0.0.1', ',,, ,', trust)).toBe('127.0.0.1');
    expect(resolveClientAddress('127.0.0.1', 'garbage, 10.0.0.1', trust)).toBe('garbage');
    expect(resolveClientAddress('127.0.0.1', '\r\n\u0000, 10.0.0.1', trust)).toBe('\r\n\u0000');
    // 5,000 spoofed entries: only the right-most part is read.
    const long = `${'1.2.3.4,'.repeat(5000)}10.0.0.1`;
    expect(long.length).toBeGreaterThan(MAX_FORWARDED_FOR_LENGTH);
    expect(resolveClientAddress('127.0.0.1', long, trust)).toBe('1.2.3.4');
    // A chain of trusted hops longer than the cap ends at the cap.
    const chain = Array.from({ length: 100 }, (_, i) => `10.0.${i}.1`).join(', ');
    const got = resolveClientAddress('127.0.0.1', chain, trust);
    expect(got).toBe(`10.0.${100 - MAX_FORWARDED_HOPS}.1`);
    // An entry cut by the length cap is dropped, not returned half.
    const cut = `${'9'.repeat(MAX_FORWARDED_FOR_LENGTH)}, 10.0.0.1`;
    expect(resolveClientAddress('127.0.0.1', cut, trust)).toBe('10.0.0.1');
  });

  it('property: agrees with proxy-addr on every input within the caps', () => {
    const addr = fc.oneof(
      fc.constantFrom('127.0.0.1', '::1', '10.1.2.3', '192.168.0.7', '::ffff:10.0.0.1', 'fe80::1', 'fc00::5'),
      fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
      fc.constantFrom('198.51.100.7', '2001:db8::1', 'garbage', '', ' ', 'unknown'),
    );
    const xff = fc
      .array(fc.tuple(addr, fc.constantFrom(',', ', ', ' ,', ',,')), { maxLength: 10 })
      .map((parts) => parts.map(([a, sep]) => a + sep).join(''));
    const trustArb: fc.Arbitrary<{ ours: TrustProxy; ref: Parameters<typeof proxyaddr>[1] }> = fc.oneof(
      fc.integer({ min: 1, max: 5 }).map((n) => ({ ours: n, ref: (_a: string, i: number) => i < n })),
      fc
        .subarray(['loopback', 'linklocal', 'uniquelocal', '198.51.100.0/24', '2001:db8::/32', '10.1.2.3'], {
          minLength: 1,
        })
        .map((list) => ({ ours: list, ref: proxyaddr.compile(list) })),
    );
    fc.assert(
      fc.property(
        addr.filter((a) => a !== ''),
        fc.option(xff, { nil: undefined }),
        trustArb,
        (socket, header, t) => {
          const ours = resolveClientAddress(socket, header, compileTrustProxy(t.ours));
          expect(ours).toBe(reference(socket, header, t.ref));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: never throws, whatever the header', () => {
    const trust = compileTrustProxy(['loopback', 'uniquelocal']);
    const hops = compileTrustProxy(3);
    fc.assert(
      fc.property(
        fc.oneof(
          { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 9 },
          { arbitrary: big16k, weight: 1 },
        ),
        (header) => {
          for (const t of [trust, hops]) {
            const got = resolveClientAddress('127.0.0.1', header, t);
            expect(typeof got).toBe('string');
            expect((got as string).length).toBeLessThanOrEqual(MAX_FORWARDED_FOR_LENGTH);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('compileTrustProxy', () => {
  it('refuses true, explaining why and what to give instead', () => {
    const e = codedError(() => compileTrustProxy(true as never));
    expect(e.message).toMatch(/left-most X-Forwarded-For/);
    expect(e.message).toMatch(/number of proxies/);
  });

  it.each([
    [-1, '-1'],
    [1.5, '1.5'],
    [65, '65'],
    ['nope', 'nope'],
    [['10.0.0.0/33'], '10.0.0.0/33'],
    [['10.0.0.0/0'], '10.0.0.0/0'],
    ['10.0.0.0/255.0.255.0', '255.0.255.0'],
    ['10.1/8', '10.1/8'],
    [['::ffff:10.0.0.0/80'], '::ffff:10.0.0.0/80'],
    [[42], '42'],
    [{}, 'object'],
  ])('refuses %o, naming the bad value', (value, named) => {
    const e = codedError(() => compileTrustProxy(value as never));
    expect(e.message).toContain('trustProxy');
    expect(e.message).toContain(named);
  });

  it('accepts what proxy-addr accepts, comma-separated or as a list', () => {
    expect(compileTrustProxy('loopback').kind).toBe('list');
    expect(compileTrustProxy(' loopback , 10.0.0.0/8 ').kind).toBe('list');
    expect(compileTrustProxy(['::ffff:10.0.0.0/104']).kind).toBe('list');
    expect(compileTrustProxy([]).kind).toBe('none');
    expect(compileTrustProxy(3)).toEqual({ kind: 'hops', hops: 3 });
  });
});
