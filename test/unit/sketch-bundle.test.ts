import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bundleCount, decodeBundle, encodeBundle } from '../../src/aggregators/sqlite/sketch-bundle.js';

const entries = fc.uniqueArray(
  fc.record({ value: fc.string({ unit: 'binary', maxLength: 40 }), registers: fc.uint8Array({ maxLength: 64 }) }),
  { selector: (e) => e.value, maxLength: 20 },
);
const plain = (list: ReadonlyArray<{ value: string; registers: Uint8Array }>) =>
  list.map((e) => ({ value: e.value, registers: [...e.registers] }));
/** Either the bundle error, or nothing thrown: never a RangeError or another crash. */
function decodeOrDamage(bytes: Uint8Array): ReturnType<typeof decodeBundle> | 'damaged' {
  try {
    return decodeBundle(bytes);
  } catch (err) {
    expect((err as Error).message).toMatch(/^sketch bundle: damaged \(/);
    return 'damaged';
  }
}

describe('sketch bundles', () => {
  it('decode what they encode: every value (any Unicode) with its registers, in order', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const blob = encodeBundle(list);
        // Lone surrogates do not survive UTF-8, as in any SQLite text column: compare what UTF-8 keeps.
        const kept = list.map((e) => ({
          value: Buffer.from(e.value, 'utf8').toString('utf8'),
          registers: e.registers,
        }));
        expect(plain(decodeBundle(blob))).toEqual(plain(kept));
        expect(bundleCount(blob)).toBe(list.length);
      }),
    );
  });

  it('refuse any truncation of a bundle with a clear error', () => {
    fc.assert(
      fc.property(
        entries.filter((l) => l.length > 0),
        fc.nat(),
        (list, cut) => {
          const blob = encodeBundle(list);
          const short = blob.subarray(0, cut % blob.length);
          expect(decodeOrDamage(short)).toBe('damaged');
        },
      ),
    );
  });

  it('read arbitrary bytes as a bundle or refuse them, never crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const got = decodeOrDamage(bytes);
        // What decodes is a bundle: as many entries as its header says, each a view inside the bytes.
        if (got === 'damaged') return;
        expect(got).toHaveLength(bundleCount(bytes));
        for (const e of got) {
          expect(e.registers.buffer).toBe(bytes.buffer);
          expect(e.registers.byteOffset + e.registers.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
        }
      }),
    );
    // A version byte and a count far beyond what the bytes could hold: refused before any allocation.
    expect(decodeOrDamage(Uint8Array.from([1, 0xff, 0xff, 0xff, 0xff]))).toBe('damaged');
    expect(decodeOrDamage(Uint8Array.from([2, 0, 0, 0, 0]))).toBe('damaged');
    expect(bundleCount(Uint8Array.from([1, 0]))).toBe(0);
  });
});
