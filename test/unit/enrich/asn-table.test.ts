/**
 * The ASN table built from small CSV fixtures in the shipped format, its binary
 * cache file, and the resolver's cache lifecycle (fresh, reused, stale, corrupt).
 */
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAsnTable } from '../../../src/enrich/asn-csv.js';
import { decodeAsnTable, encodeAsnTable } from '../../../src/enrich/asn-table-file.js';
import { asnTableIspResolver } from '../../../src/enrich/asn-table-isp-resolver.js';
import { defaultCacheDir } from '../../../src/enrich/cache-dir.js';
import { ERROR_CODES } from '../../../src/errors.js';

const ip4 = (s: string) => s.split('.').reduce((a, p) => a * 256 + Number(p), 0);
const p24 = (s: string) => Math.floor(ip4(s) / 256);

const V4 = [
  `${ip4('1.0.0.0')},${ip4('1.0.0.255')},13335,"Cloudflare, Inc."`,
  // sub-/24 ranges: only the one holding the .0 address counts for its /24
  `${ip4('1.0.4.0')},${ip4('1.0.4.127')},64500,Lower Half Ltd`,
  `${ip4('1.0.4.128')},${ip4('1.0.4.255')},64501,Upper Half Ltd`,
  // adjacent ranges of one pair merge
  `${ip4('2.16.20.0')},${ip4('2.16.20.255')},12389,PJSC Rostelecom`,
  `${ip4('2.16.21.0')},${ip4('2.16.21.255')},12389,PJSC Rostelecom`,
  // overlap: the earlier row wins
  `${ip4('5.144.96.0')},${ip4('5.144.125.255')},8359,MTS PJSC`,
  `${ip4('5.144.120.0')},${ip4('5.144.127.255')},64502,Overlap Inc`,
  `${ip4('6.0.0.0')},${ip4('6.0.0.255')},64503,"LLC ""SPUTNIK"""`,
  `${ip4('6.0.1.0')},${ip4('6.0.1.255')},64504,  Spaced\tName\u0007 `,
  `${ip4('6.0.2.0')},${ip4('6.0.2.255')},64505,`,
  `${ip4('6.0.3.0')},${ip4('6.0.3.255')},0,Not routed`,
  'garbage line',
  `${ip4('7.0.0.0')},${ip4('7.0.0.255')},notanumber,Bad`,
  `${ip4('255.255.255.0')},${ip4('255.255.255.255')},64506,Top`,
].join('\n');

const V6 = [
  '2001:4860::,2001:4860:4804:ffff:ffff:ffff:ffff:ffff,15169,Google LLC',
  '2001:4860:4805::,2001:4860:4805:ffff:ffff:ffff:ffff:ffff,43515,Google Ireland Limited',
  // starts inside a /48: that /48 belongs to whatever holds its network address
  '2a00:1640:0:0:8000::,2a00:1640:ffff:ffff:ffff:ffff:ffff:ffff,12389,PJSC Rostelecom',
  '2a02:6b8::,2a02:6b8:a:ffff:ffff:ffff:ffff:ffff,13238,YANDEX LLC',
  'not-an-address,2a02::,1,X',
].join('\r\n');

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'privacy-log-asn-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(v4 = V4, v6 = V6, version = '9.9.9'): string {
  const d = tmp();
  writeFileSync(join(d, 'asn-ipv4-num.csv'), v4);
  writeFileSync(join(d, 'asn-ipv6.csv'), v6);
  writeFileSync(join(d, 'package.json'), JSON.stringify({ name: 'fixture', version }));
  return d;
}

describe('buildAsnTable', () => {
  it('answers per routable prefix, with names as given (trimmed, unquoted)', async () => {
    const { table, stats } = await buildAsnTable(V4, V6);
    expect(table.lookup(4, p24('1.0.0.0'))).toEqual({ isp: 'Cloudflare, Inc.', asn: 13335 });
    expect(table.lookup(4, p24('1.0.4.200'))).toEqual({ isp: 'Lower Half Ltd', asn: 64500 });
    expect(table.lookup(4, p24('1.0.5.0'))).toBeUndefined();
    expect(table.lookup(4, p24('2.16.21.9'))).toEqual({ isp: 'PJSC Rostelecom', asn: 12389 });
    expect(table.lookup(4, p24('5.144.125.1'))?.asn).toBe(8359);
    expect(table.lookup(4, p24('5.144.126.1'))?.asn).toBe(64502);
    expect(table.lookup(4, p24('6.0.0.1'))?.isp).toBe('LLC "SPUTNIK"');
    expect(table.lookup(4, p24('6.0.1.1'))?.isp).toBe('Spaced Name');
    expect(table.lookup(4, p24('6.0.2.1'))?.isp).toBe('AS64505');
    expect(table.lookup(4, p24('6.0.3.1'))).toBeUndefined();
    expect(table.lookup(4, p24('255.255.255.255'))?.asn).toBe(64506);
    expect(table.lookup(4, 0)).toBeUndefined();
    const g = 0x20014860 * 65536;
    expect(table.lookup(6, g + 0x4804)).toEqual({ isp: 'Google LLC', asn: 15169 });
    expect(table.lookup(6, g + 0x4805)).toEqual({ isp: 'Google Ireland Limited', asn: 43515 });
    expect(table.lookup(6, g + 0x4806)).toBeUndefined();
    expect(table.lookup(6, 0x2a001640 * 65536)).toBeUndefined();
    expect(table.lookup(6, 0x2a001640 * 65536 + 1)?.asn).toBe(12389);
    expect(table.lookup(6, 0x2a0206b8 * 65536 + 0xa)?.asn).toBe(13238);
    expect(stats.badRows).toBe(3);
    expect(table.size).toMatchObject({ v4: 9, v6: 4 });
    // one record object per (asn, name): repeated lookups allocate nothing
    expect(table.lookup(4, p24('2.16.20.1'))).toBe(table.lookup(4, p24('2.16.21.1')));
  });
});

describe('the binary table file', () => {
  it('round-trips, and tells stale from corrupt', async () => {
    const { table } = await buildAsnTable(V4, V6);
    const buf = encodeAsnTable(table, 'key-1');
    const back = decodeAsnTable(buf, 'key-1');
    if (typeof back === 'string') throw new Error(back);
    expect(back.data.names).toEqual(table.data.names);
    expect([...back.data.v4Start]).toEqual([...table.data.v4Start]);
    expect([...back.data.v6End]).toEqual([...table.data.v6End]);
    expect(back.lookup(4, p24('6.0.0.9'))?.isp).toBe('LLC "SPUTNIK"');
    expect(decodeAsnTable(buf, 'key-2')).toBe('stale');
    const flipped = Buffer.from(buf);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 1;
    expect(decodeAsnTable(flipped, 'key-1')).toBe('corrupt');
    expect(decodeAsnTable(buf.subarray(0, buf.length - 9), 'key-1')).toBe('corrupt');
    expect(decodeAsnTable(Buffer.from('PLASNTB1'), 'key-1')).toBe('corrupt');
    expect(decodeAsnTable(Buffer.alloc(0), 'key-1')).toBe('corrupt');
  });
});

describe('asnTableIspResolver', () => {
  it('builds from CSV once, then loads the cached table; rebuilds when the data changes', async () => {
    const data = dataDir();
    const cacheDir = join(tmp(), 'nested', 'cache');
    const first = asnTableIspResolver({ dataDir: data, cacheDir });
    expect(first.lookup(4, p24('1.0.0.1'))).toBeUndefined(); // not loaded yet
    await first.ready();
    expect(first.info()).toMatchObject({ state: 'ready', source: 'csv', cacheIssue: 'absent', badRows: 3 });
    expect(first.lookup(4, p24('1.0.0.1'))?.asn).toBe(13335);
    expect(first.info().cacheFile).toBe(join(cacheDir, 'asn-table-f2-9.9.9.bin'));

    // while one is open, another resolver of the same data shares its table
    const sharing = asnTableIspResolver({ dataDir: data, cacheDir });
    await sharing.ready();
    expect(sharing.table()).toBe(first.table());
    const own = asnTableIspResolver({ dataDir: data, cacheDir, share: false });
    await own.ready();
    expect(own.table()).not.toBe(first.table());
    expect(own.info().source).toBe('cache');
    own.close();
    sharing.close();
    expect(first.lookup(4, p24('1.0.0.1'))?.asn).toBe(13335); // closing one leaves the others working
    first.close();

    // once all are closed, the next one loads again: from the cache file
    const second = asnTableIspResolver({ dataDir: data, cacheDir });
    await second.ready();
    expect(second.info()).toMatchObject({ state: 'ready', source: 'cache' });
    expect(second.lookup(6, 0x20014860 * 65536)?.asn).toBe(15169);
    second.close();

    // same version, new content: stale → rebuilt
    writeFileSync(join(data, 'asn-ipv4-num.csv'), `${ip4('1.0.0.0')},${ip4('1.0.0.255')},64999,Changed\n`);
    utimesSync(join(data, 'asn-ipv4-num.csv'), new Date(), new Date(Date.now() + 5000));
    const third = asnTableIspResolver({ dataDir: data, cacheDir });
    await third.ready();
    expect(third.info()).toMatchObject({ source: 'csv', cacheIssue: 'stale' });
    expect(third.lookup(4, p24('1.0.0.1'))?.asn).toBe(64999);
    third.close();

    // a damaged cache file is rebuilt, not trusted
    const file = third.info().cacheFile as string;
    const bytes = readFileSync(file);
    bytes[40] = (bytes[40] as number) ^ 0xff;
    writeFileSync(file, bytes);
    const fourth = asnTableIspResolver({ dataDir: data, cacheDir });
    await fourth.ready();
    expect(fourth.info()).toMatchObject({ source: 'csv', cacheIssue: 'corrupt' });
    fourth.close();
    expect(fourth.lookup(4, p24('1.0.0.1'))).toBeUndefined();
  });

  it('works without a writable cache directory, and with none', async () => {
    const data = dataDir();
    const blocker = join(tmp(), 'a-file');
    writeFileSync(blocker, 'not a directory');
    const r = asnTableIspResolver({ dataDir: data, cacheDir: join(blocker, 'sub') });
    await r.ready();
    expect(r.info().source).toBe('csv');
    expect(r.info().cacheIssue).toMatch(/^not written/);
    expect(r.lookup(4, p24('2.16.20.1'))?.asn).toBe(12389);
    const none = asnTableIspResolver({ dataDir: data, cacheDir: false });
    await none.ready();
    expect(none.info().cacheFile).toBeUndefined();
  });

  it('rejects ready() with ENRICH_DATA when the data is missing or empty', async () => {
    const missing = asnTableIspResolver({ dataDir: join(tmp(), 'nothing-here'), cacheDir: false });
    await expect(missing.ready()).rejects.toMatchObject({ code: ERROR_CODES.ENRICH_DATA });
    expect(missing.info().state).toBe('failed');
    const emptyDir = dataDir('', '');
    const empty = asnTableIspResolver({ dataDir: emptyDir, cacheDir: false });
    await expect(empty.ready()).rejects.toMatchObject({ code: ERROR_CODES.ENRICH_DATA });
    // a failed load is not shared: once the data is there, the next resolver loads it
    writeFileSync(join(emptyDir, 'asn-ipv4-num.csv'), V4);
    const retry = asnTableIspResolver({ dataDir: emptyDir, cacheDir: false });
    await retry.ready();
    expect(retry.lookup(4, p24('1.0.0.1'))?.asn).toBe(13335);
    retry.close();
  });

  it('validates its options', () => {
    expect(() => asnTableIspResolver({ cacheDri: '/tmp' } as never)).toThrow(/Did you mean "cacheDir"/);
    expect(() => asnTableIspResolver({ cacheDir: '' })).toThrow(/cacheDir/);
    expect(() => asnTableIspResolver({ dataDir: 5 } as never)).toThrow(/dataDir/);
    expect(() => asnTableIspResolver({ share: 'yes' } as never)).toThrow(/share/);
  });
});

describe('defaultCacheDir', () => {
  it('follows each platform convention', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux')).toBe('/x/cache/privacy-log');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux')).toMatch(/\.cache\/privacy-log$/);
    expect(defaultCacheDir({}, 'darwin')).toMatch(/Library\/Caches\/privacy-log$/);
    expect(defaultCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toContain('privacy-log');
  });
});
