import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeBare, escapeQuoted, toJsonLine } from '../../../src/access-log/escape.js';
import { anyText, FORBIDDEN_IN_LOG } from './fixtures.js';

/** Undoes escapeQuoted: the escaping must lose nothing. */
function unescapeQuoted(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|.)/g, (_, e: string) =>
    e.length === 1 ? e : String.fromCharCode(Number.parseInt(e.slice(1), 16)),
  );
}

describe('escapeQuoted', () => {
  it('escapes quotes, backslashes and controls Apache-style', () => {
    expect(escapeQuoted('a"b\\c\nd\re\u001bf\u0000')).toBe('a\\"b\\\\c\\x0ad\\x0de\\x1bf\\x00');
  });

  it('escapes Unicode separators, NEL, bidi overrides and lone surrogates as \\uHHHH', () => {
    expect(escapeQuoted('\u2028\u2029\u0085\u202e\ud800\ufeff')).toBe('\\u2028\\u2029\\x85\\u202e\\ud800\\ufeff');
  });

  it('keeps ordinary text, spaces and paired surrogates as they are', () => {
    expect(escapeQuoted('Mozilla/5.0 (Windows) Firefox/120 привет 😀')).toBe(
      'Mozilla/5.0 (Windows) Firefox/120 привет 😀',
    );
  });

  it('prints a missing or empty value as -', () => {
    expect(escapeQuoted(undefined)).toBe('-');
    expect(escapeQuoted('')).toBe('-');
  });

  it('property: no forbidden character survives, no bare quote remains, and nothing is lost', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const out = escapeQuoted(s);
        expect(out).not.toMatch(FORBIDDEN_IN_LOG);
        expect(out.replace(/\\\\|\\"/g, '')).not.toContain('"');
        if (s !== '') expect(unescapeQuoted(out)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});

describe('escapeBare', () => {
  it('also escapes the space, so a bare field cannot split', () => {
    expect(escapeBare('a b')).toBe('a\\x20b');
  });

  it('property: the output is one space-free token without forbidden characters', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const out = escapeBare(s);
        expect(out).toMatch(/^\S+$/);
        expect(out).not.toMatch(FORBIDDEN_IN_LOG);
      }),
      { numRuns: 500 },
    );
  });
});

describe('toJsonLine', () => {
  it('escapes what JSON.stringify leaves raw', () => {
    expect(toJsonLine({ a: '\u2028\u0085\u007f' })).toBe('{"a":"\\u2028\\u0085\\u007f"}');
  });

  it('property: one parseable line that round-trips and holds no forbidden character', () => {
    fc.assert(
      fc.property(fc.dictionary(anyText, anyText, { maxKeys: 5 }), (value) => {
        const line = toJsonLine(value);
        expect(line).not.toMatch(FORBIDDEN_IN_LOG);
        expect(JSON.parse(line)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});
