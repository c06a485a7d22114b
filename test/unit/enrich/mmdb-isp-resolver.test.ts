/**
 * ISP lookups through an mmdb file the test writes itself (test/helpers/mmdb-writer.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createEnricher, mmdbIspResolver } from '../../../src/enrich/index.js';
import { ERROR_CODES } from '../../../src/errors.js';
import { writeMmdb } from '../../helpers/mmdb-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'privacy-log-mmdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const asn = (n: number, org: string) => ({ autonomous_system_number: n, autonomous_system_organization: org });

const file = join(dir, 'asn.mmdb');
writeFileSync(
  file,
  writeMmdb({
    networks: [
      { address: '8.8.8.0', prefixLength: 24, data: asn(15169, 'Google LLC') },
      { address: '95.24.0.0', prefixLength: 13, data: asn(12389, '  PJSC Rostelecom  ') },
      { address: '91.76.0.0', prefixLength: 14, data: asn(8359, 'MTS PJSC') },
      // a /25 that does not hold the /24's network address is never seen from the prefix
      { address: '91.80.1.128', prefixLength: 25, data: asn(64500, 'Upper Half') },
      { address: '2001:4860::', prefixLength: 32, data: asn(15169, 'Google LLC') },
      { address: '2a02:6b8::', prefixLength: 29, data: asn(13238, 'YANDEX LLC') },
      { address: '5.0.0.0', prefixLength: 24, data: { asn: 'AS64501', name: 'Ipinfo Style' } },
      { address: '5.0.1.0', prefixLength: 24, data: { autonomous_system_number: 64502 } },
      { address: '5.0.2.0', prefixLength: 24, data: { city: 'Nowhere' } },
      { address: '5.0.3.0', prefixLength: 24, data: asn(64503, 'Evil\r\nInjected\u2028Line\u0000') },
    ],
  }),
);

describe('mmdbIspResolver', () => {
  const enricher = createEnricher({ isp: { mmdb: file } });

  it.each([
    ['8.8.8.8', 4, { isp: 'Google LLC', asn: 15169 }],
    ['95.31.1.2', 4, { isp: 'PJSC Rostelecom', asn: 12389 }],
    ['91.76.10.20', 4, { isp: 'MTS PJSC', asn: 8359 }],
    ['2001:4860:4860::8888', 6, { isp: 'Google LLC', asn: 15169 }],
    ['2a02:6b8:0:1::feed', 6, { isp: 'YANDEX LLC', asn: 13238 }],
    ['5.0.0.9', 4, { isp: 'Ipinfo Style', asn: 64501 }],
    ['5.0.1.9', 4, { isp: 'AS64502', asn: 64502 }],
    ['5.0.3.9', 4, { isp: 'Evil  Injected Line', asn: 64503 }],
  ] as const)('%s → %j', (address, family, expected) => {
    expect(enricher.lookup(address, family)).toEqual(expected);
  });

  it('looks up the routable prefix, not the address', () => {
    expect(enricher.lookup('91.80.1.200', 4)).toBeUndefined();
    expect(enricher.lookup('8.8.9.8', 4)).toBeUndefined();
    expect(enricher.lookup('5.0.2.1', 4)).toBeUndefined(); // a record without ASN fields
  });

  it('caches per prefix and still answers the same', () => {
    const r = mmdbIspResolver({ file, cacheSize: 2 });
    expect(r.database).toMatchObject({ type: 'GeoLite2-ASN', ipVersion: 6 });
    for (let i = 0; i < 3; i++) {
      expect(r.lookup(4, 0x080808)).toEqual({ isp: 'Google LLC', asn: 15169 });
      expect(r.lookup(4, 0x5b4c0a)?.asn).toBe(8359);
      expect(r.lookup(4, 0x010203)).toBeUndefined();
    }
    r.close();
    expect(r.lookup(4, 0x080808)).toBeUndefined();
  });

  it('answers IPv4 only from an IPv4 database', () => {
    const v4file = join(dir, 'v4.mmdb');
    writeFileSync(
      v4file,
      writeMmdb({ ipVersion: 4, networks: [{ address: '8.8.8.0', prefixLength: 24, data: asn(15169, 'Google LLC') }] }),
    );
    const r = mmdbIspResolver({ file: v4file });
    expect(r.lookup(4, 0x080808)?.asn).toBe(15169);
    expect(r.lookup(6, 0x20014860 * 65536)).toBeUndefined();
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.mmdb'), /cannot open/],
    ['random bytes', () => write('junk.mmdb', Buffer.from('definitely not a maxmind database')), /cannot open/],
    ['a gzip file', () => write('gz.mmdb', gzipSync(Buffer.from('x'))), /gzip/],
    [
      'a truncated database',
      () =>
        write(
          'cut.mmdb',
          writeMmdb({ networks: [{ address: '8.8.8.0', prefixLength: 24, data: asn(1, 'x') }] }).subarray(0, 40),
        ),
      /cannot open/,
    ],
    [
      'a City database',
      () => write('city.mmdb', writeMmdb({ databaseType: 'GeoLite2-City', networks: [] })),
      /no ASN data/,
    ],
  ])('fails at startup with ENRICH_DATA for %s', (_label, make, message) => {
    const path = make();
    expect(() => createEnricher({ isp: { mmdb: path } })).toThrow(message);
    try {
      mmdbIspResolver({ file: path });
    } catch (e) {
      expect(e).toMatchObject({ code: ERROR_CODES.ENRICH_DATA, retryable: false });
    }
    expect.assertions(2);
  });

  it('validates its options', () => {
    expect(() => mmdbIspResolver({ fiel: file } as never)).toThrow(/Did you mean "file"/);
    expect(() => mmdbIspResolver({})).toThrow(/file/);
    expect(() => mmdbIspResolver({ file, cacheSize: -1 })).toThrow(/cacheSize/);
  });
});

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
