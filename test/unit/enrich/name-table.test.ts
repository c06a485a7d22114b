/** The ISP names as one UTF-8 block (src/enrich/name-table.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NameTable } from '../../../src/enrich/name-table.js';

const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\n'));

describe('NameTable', () => {
  it('property: gives back every name as given, also after a round trip through its bytes', () => {
    fc.assert(
      fc.property(fc.array(name, { maxLength: 50 }), (names) => {
        const table = NameTable.fromStrings(names);
        expect(table.length).toBe(names.length);
        expect(table.toArray()).toEqual(names);
        const back = NameTable.fromUtf8(table.utf8);
        expect(back.toArray()).toEqual(names);
        expect(table.byteLength).toBe(Buffer.byteLength(names.join('\n')) + 4 * names.length);
      }),
    );
  });

  it('answers undefined outside its range and refuses a name with the separator', () => {
    const table = NameTable.fromStrings(['Google LLC', 'ООО «Ростелеком»']);
    expect(table.get(1)).toBe('ООО «Ростелеком»');
    for (const i of [-1, 2, 0.5, Number.NaN]) expect(table.get(i)).toBeUndefined();
    expect(() => NameTable.fromStrings(['a\nb'])).toThrow(/newlines/);
    expect(NameTable.fromStrings([]).length).toBe(0);
    expect(NameTable.fromStrings(['']).toArray()).toEqual(['']);
  });

  it('keeps its own copy of the bytes it was made from', () => {
    const bytes = Buffer.from('a\nb', 'utf8');
    const table = NameTable.fromUtf8(bytes);
    bytes.fill(0x7a);
    expect(table.toArray()).toEqual(['a', 'b']);
  });
});
