import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConsentChoice,
  decodeConsentCookie,
  encodeConsentCookie,
  isPolicyVersion,
  MAX_CONSENT_COOKIE_LENGTH,
  packedChoiceFor,
} from '../../../src/consent/cookie-codec.js';

const versionChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-'.split('');
const policyVersion = fc
  .array(fc.constantFrom(...versionChars), { minLength: 1, maxLength: 32 })
  .map((a) => a.join(''));
const choice: fc.Arbitrary<ConsentChoice> = fc.record({
  policyVersion,
  analytics: fc.boolean(),
  day: fc.integer({ min: 0, max: 999_999 }),
});
/** Printable cookie-value characters, biased towards the codec's own alphabet. */
const cookieChar = fc.oneof(
  fc.constantFrom(...'0123456789abcdefgd.'.split('')),
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
);

describe('consent cookie codec', () => {
  it('encodes the documented compact format', () => {
    const v = encodeConsentCookie({ policyVersion: '2025-03', analytics: true, day: 20_416 });
    expect(v).toMatch(/^1\.g\.20416\.2025-03\.[0-9a-f]{8}$/);
    expect(encodeConsentCookie({ policyVersion: '1', analytics: false, day: 20_416 })).toMatch(
      /^1\.d\.20416\.1\.[0-9a-f]{8}$/,
    );
  });

  it('round-trips every choice, within the length cap and with cookie-safe characters only', () => {
    fc.assert(
      fc.property(choice, (c) => {
        const v = encodeConsentCookie(c);
        expect(v.length).toBeLessThanOrEqual(MAX_CONSENT_COOKIE_LENGTH);
        expect(v).toMatch(/^[A-Za-z0-9._-]+$/);
        expect(decodeConsentCookie(v)).toEqual(c);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws, and accepts only what encode produces', () => {
    const anyString = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.array(cookieChar, { maxLength: 70 }).map((a) => a.join('')),
      choice.map(encodeConsentCookie),
    );
    fc.assert(
      fc.property(anyString, (s) => {
        const decoded = decodeConsentCookie(s);
        if (decoded !== undefined) expect(encodeConsentCookie(decoded)).toBe(s);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects every single-character change of a valid cookie', () => {
    fc.assert(
      fc.property(choice, fc.nat(), cookieChar, (c, pos, ch) => {
        const v = encodeConsentCookie(c);
        const i = pos % v.length;
        fc.pre(v[i] !== ch);
        const mutated = v.slice(0, i) + ch + v.slice(i + 1);
        expect(decodeConsentCookie(mutated)).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects insertions and deletions', () => {
    fc.assert(
      fc.property(choice, fc.nat(), cookieChar, fc.boolean(), (c, pos, ch, insert) => {
        const v = encodeConsentCookie(c);
        const i = pos % v.length;
        const mutated = insert ? v.slice(0, i) + ch + v.slice(i) : v.slice(0, i) + v.slice(i + 1);
        // A deletion/insertion can only survive by recreating the exact same string.
        const decoded = decodeConsentCookie(mutated);
        if (decoded !== undefined) expect(encodeConsentCookie(decoded)).toBe(mutated);
        expect(decoded).not.toEqual(c);
      }),
      { numRuns: 3000 },
    );
  });

  it('the hot-path parser agrees with the full decoder for every version', () => {
    const value = fc.oneof(
      choice.map(encodeConsentCookie),
      fc.array(cookieChar, { maxLength: 60 }).map((a) => a.join('')),
      fc.tuple(choice, fc.nat(), cookieChar).map(([c, pos, ch]) => {
        const v = encodeConsentCookie(c);
        const i = pos % v.length;
        return v.slice(0, i) + ch + v.slice(i + 1);
      }),
    );
    fc.assert(
      fc.property(value, fc.oneof(policyVersion, fc.constantFrom('1', '2025-03')), (v, version) => {
        const d = decodeConsentCookie(v);
        const expected = d !== undefined && d.policyVersion === version ? d.day * 2 + (d.analytics ? 1 : 0) : -1;
        expect(packedChoiceFor(v, version)).toBe(expected);
        if (d !== undefined) expect(packedChoiceFor(v, d.policyVersion)).toBe(d.day * 2 + (d.analytics ? 1 : 0));
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects forged, hand-written and overlong values', () => {
    const good = encodeConsentCookie({ policyVersion: '1', analytics: false, day: 20_000 });
    const flipped = `1.g${good.slice(3)}`; // denied → granted without recomputing the check
    const forged = [
      '',
      'granted',
      '1.g.20000.1',
      '1.g.20000.1.00000000',
      flipped,
      `${good} `,
      ` ${good}`,
      good.toUpperCase(),
      `"${good}"`,
      `1.g.020000.1.${good.slice(-8)}`,
      `2${good.slice(1)}`,
      `1.x${good.slice(3)}`,
      `1.g.20000.${'a'.repeat(33)}.00000000`,
      'x'.repeat(10_000),
      `${good}.${good}`,
      '1.g.20000..12345678',
      '1.g..1.12345678',
      '1.g.1234567.1.12345678',
    ];
    for (const f of forged) {
      expect(decodeConsentCookie(f), f.slice(0, 40)).toBeUndefined();
      expect(packedChoiceFor(f, '1'), f.slice(0, 40)).toBe(-1);
    }
    expect(packedChoiceFor(good, '1')).toBe(40_000);
    expect(packedChoiceFor(good, '2')).toBe(-1);
    expect(packedChoiceFor(good, '')).toBe(-1);
    expect(decodeConsentCookie(good)).toEqual({ policyVersion: '1', analytics: false, day: 20_000 });
  });

  it('rejects non-canonical values even with a correct checksum', () => {
    const fnv = (x: string) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < x.length; i++) h = Math.imul(h ^ x.charCodeAt(i), 0x01000193);
      return (h >>> 0).toString(16).padStart(8, '0');
    };
    const signed = (payload: string) => `${payload}.${fnv(payload)}`;
    expect(decodeConsentCookie(signed('1.g.20000.1'))).toEqual({ policyVersion: '1', analytics: true, day: 20_000 });
    for (const payload of [
      '1.g.020000.1',
      '1.g.00.1',
      '1.G.20000.1',
      '1.g.+2000.1',
      '1.g.20000.',
      '1.g.2e4.1',
      '2.g.20000.1',
    ]) {
      expect(decodeConsentCookie(signed(payload)), payload).toBeUndefined();
      expect(packedChoiceFor(signed(payload), '1'), payload).toBe(-1);
    }
    expect(decodeConsentCookie(signed('1.g.20000.1').toUpperCase())).toBeUndefined();
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeConsentCookie({ policyVersion: 'a b', analytics: true, day: 1 })).toThrow(RangeError);
    expect(() => encodeConsentCookie({ policyVersion: '1', analytics: true, day: -1 })).toThrow(RangeError);
    expect(() => encodeConsentCookie({ policyVersion: '1', analytics: true, day: 1.5 })).toThrow(RangeError);
    expect(isPolicyVersion('2025-03.1_a')).toBe(true);
    expect(isPolicyVersion('')).toBe(false);
    expect(isPolicyVersion('v;1')).toBe(false);
  });
});
