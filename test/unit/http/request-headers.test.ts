/**
 * The one header reader (src/http/request-headers.ts): the raw-header pass must
 * give exactly what Node's own `req.headers` gives for the headers privacy-log
 * reads, duplicates and letter case included. Node's merge (`_addHeaderLine`)
 * is the reference.
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CapturedHeaders,
  cookieHeader,
  headerValue,
  readHeaderRecord,
  readRawHeaders,
  readRequestHeaders,
  singleValue,
} from '../../../src/http/request-headers.js';

const FIELDS: ReadonlyArray<[keyof CapturedHeaders, string]> = [
  ['host', 'host'],
  ['userAgent', 'user-agent'],
  ['referer', 'referer'],
  ['cookie', 'cookie'],
  ['secGpc', 'sec-gpc'],
  ['dnt', 'dnt'],
  ['forwardedFor', 'x-forwarded-for'],
  ['secChUa', 'sec-ch-ua'],
  ['secChUaMobile', 'sec-ch-ua-mobile'],
  ['secChUaPlatform', 'sec-ch-ua-platform'],
  ['secChUaPlatformVersion', 'sec-ch-ua-platform-version'],
];
const OTHER_NAMES = ['accept', 'origin', 'connection', 'x-forwarded-proto', 'sec-fetch-site', 'authorization', 'hosts'];

/** Node's own merge of raw header lines into `req.headers`. */
function nodeHeaders(raw: string[], joinDuplicates: boolean): Record<string, string | string[]> {
  const msg = new IncomingMessage(new Socket());
  (msg as unknown as { joinDuplicateHeaders: boolean }).joinDuplicateHeaders = joinDuplicates;
  const dst: Record<string, string | string[]> = {};
  const add = (msg as unknown as { _addHeaderLine(f: string, v: string, d: object): void })._addHeaderLine;
  for (let i = 0; i < raw.length; i += 2) add.call(msg, raw[i] as string, raw[i + 1] as string, dst);
  return dst;
}

/** A name in random letter case. */
function casing(name: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
}

const line = fc
  .oneof(fc.constantFrom(...FIELDS.map(([, n]) => n)), fc.constantFrom(...OTHER_NAMES))
  .chain((name) => fc.tuple(casing(name), fc.string({ maxLength: 20 })));

describe('readRawHeaders', () => {
  it('reads each header privacy-log uses, in any letter case', () => {
    const h = readRawHeaders([
      'Host',
      'kindergarten.example',
      'User-Agent',
      'curl/8.5.0',
      'X-Forwarded-For',
      '203.0.113.7',
      'Sec-CH-UA-Platform-Version',
      '"14.0.0"',
      'DNT',
      '1',
      'Accept',
      '*/*',
    ]);
    expect(h).toBeInstanceOf(CapturedHeaders);
    expect(h.host).toBe('kindergarten.example');
    expect(h.userAgent).toBe('curl/8.5.0');
    expect(h.forwardedFor).toBe('203.0.113.7');
    expect(h.secChUaPlatformVersion).toBe('"14.0.0"');
    expect(h.dnt).toBe('1');
    expect(h.cookie).toBeUndefined();
  });

  it('property: agrees with Node’s req.headers on every list of header lines, duplicates included', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 16 }), fc.boolean(), (lines, join) => {
        const raw = lines.flat();
        const ours = readRawHeaders(raw, join);
        const node = nodeHeaders(raw, join);
        for (const [field, name] of FIELDS) expect(ours[field]).toBe(node[name]);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores a malformed list (odd length, non-strings) without throwing', () => {
    expect(readRawHeaders(['host']).host).toBeUndefined();
    expect(readRawHeaders([1, 'x', 'host', 2, 'dnt', '1'] as unknown[]).dnt).toBe('1');
  });
});

describe('readRequestHeaders, readHeaderRecord and the value helpers', () => {
  it('uses rawHeaders when Node has them, else the header object', () => {
    expect(readRequestHeaders({ rawHeaders: ['Cookie', 'a=1', 'cookie', 'b=2'] }).cookie).toBe('a=1; b=2');
    expect(readRequestHeaders({ headers: { cookie: ['a=1', 'b=2'], 'user-agent': 'x' } })).toMatchObject({
      cookie: 'a=1; b=2',
      userAgent: 'x',
    });
    expect(readHeaderRecord(undefined)).toEqual(new CapturedHeaders());
  });

  it('gives one string per header: numbers as text, lists joined, empty lists absent', () => {
    expect(singleValue(1234)).toBe('1234');
    expect(singleValue(['a', 'b'])).toBe('a, b');
    expect(singleValue([])).toBeUndefined();
    expect(singleValue({})).toBeUndefined();
    expect(headerValue({ 'sec-fetch-site': 'same-origin' }, 'sec-fetch-site')).toBe('same-origin');
    expect(cookieHeader({ cookie: ['a=1', 'b=2'] })).toBe('a=1; b=2');
  });
});
