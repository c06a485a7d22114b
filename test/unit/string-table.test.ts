import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringTable } from '../../src/aggregators/sqlite/string-table.js';

describe('StringTable', () => {
  it('reads any JSON array of strings exactly as JSON.parse does', () => {
    const strings = fc.array(
      fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom('', '"', '\\', ',', '","', '[', ']')),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(strings, fc.string({ unit: 'binary', maxLength: 6 }), (list, probe) => {
        const json = JSON.stringify(list);
        const t = new StringTable(json, 'dict');
        expect(t.length).toBe(list.length);
        for (let k = 1; k <= list.length; k++) expect(t.entry(k)).toBe(list[k - 1]);
        for (const v of [...list, probe]) expect(t.codeOf(v)).toBe(list.indexOf(v) < 0 ? -1 : list.indexOf(v) + 1);
        expect(t.all()).toEqual(list);
        // Once the array is made, lookups go through it and still agree.
        expect(t.codeOf(probe)).toBe(list.indexOf(probe) + 1 || -1);
      }),
      { numRuns: 500 },
    );
  });

  it('hands texts the quick path cannot read to JSON.parse, and refuses what is not an array of strings', () => {
    expect(new StringTable('[ "a" , "b" ]', 'dict').all()).toEqual(['a', 'b']);
    expect(new StringTable('["a\\"b"]', 'dict').entry(1)).toBe('a"b');
    expect(() => new StringTable('["a",1,"b"]', 'dict')).toThrow(/dict is holding a non-string/);
    expect(() => new StringTable('["a""b"]', 'dict')).toThrow(/dict is not JSON/);
    expect(() => new StringTable('["a",', 'ids')).toThrow(/ids is not JSON/);
    expect(() => new StringTable('{"a":"b"}', 'dict')).toThrow(/not a JSON array/);
    expect(() => new StringTable('["a"]x', 'dict')).toThrow(/not JSON/);
    expect(new StringTable('[]', 'dict').length).toBe(0);
    expect(new StringTable('[""]', 'dict').all()).toEqual(['']);
    expect(() => new StringTable('["a","b"]', 'dict').entry(3)).toThrow(/code 3 past the 2 dictionary entries/);
    expect(() => new StringTable('["a","b"]', 'dict').entry(0)).toThrow(/code 0 past/);
  });
});
