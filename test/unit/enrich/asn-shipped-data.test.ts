/**
 * Known addresses against the data shipped in @ip-location-db/asn (an optional
 * dependency, installed in this repository). Looked up the way capture does:
 * the full address goes in, only its /24 or /48 reaches the table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AsnTableIspResolver,
  asnTableIspResolver,
  findAsnDataDir,
} from '../../../src/enrich/asn-table-isp-resolver.js';
import { createEnricher, type Enricher } from '../../../src/enrich/index.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'privacy-log-asn-shipped-'));
let isp: AsnTableIspResolver;
let enricher: Enricher;

beforeAll(async () => {
  expect(findAsnDataDir()).toBeDefined();
  isp = asnTableIspResolver({ cacheDir });
  enricher = createEnricher({ isp, domain: false });
  await enricher.ready();
}, 60_000);

afterAll(async () => {
  await enricher.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('the shipped ASN data', () => {
  it.each([
    ['8.8.8.8', 4, 15169, 'Google LLC'],
    ['77.88.8.8', 4, 13238, 'YANDEX LLC'],
    ['2.16.20.77', 4, 12389, 'PJSC Rostelecom'],
    ['5.144.100.1', 4, 8359, 'MTS PJSC'],
    ['1.1.1.1', 4, 13335, 'Cloudflare, Inc.'],
    ['2001:4860:4860::8888', 6, 15169, 'Google LLC'],
    ['2001:4860:4805::1', 6, 43515, 'Google Ireland Limited'],
    ['2a02:6b8::feed', 6, 13238, 'YANDEX LLC'],
    ['2a00:1640:1:2::3', 6, 12389, 'PJSC Rostelecom'],
    ['2a00:f00:12:34::1', 6, 8359, 'MTS PJSC'],
  ] as const)('%s → AS%i %s', (address, family, asn, name) => {
    expect(enricher.lookup(address, family)).toEqual({ isp: name, asn });
  });

  it('gives nothing for unrouted and private space', () => {
    expect(enricher.lookup('10.1.2.3', 4)).toBeUndefined();
    expect(enricher.lookup('fd00::1', 6)).toBeUndefined();
    expect(enricher.lookup('1.0.1.1', 4)).toBeUndefined(); // a hole between 1.0.0.0/24 and 1.0.4.0/22
  });

  it('loads within the bar and reports its size', () => {
    const info = isp.info();
    expect(info.state).toBe('ready');
    expect(info.ranges?.v4).toBeGreaterThan(300_000);
    expect(info.ranges?.v6).toBeGreaterThan(50_000);
    expect(info.bytes).toBeGreaterThan(1_000_000);
    expect(info.bytes).toBeLessThan(32_000_000);
    expect(enricher.metrics().isp).toEqual({ source: 'custom', state: 'ready' });
  });

  it('a second resolver shares the loaded table; an unshared one reads the cache file and agrees', async () => {
    const shared = asnTableIspResolver({ cacheDir });
    await shared.ready();
    expect(shared.table()).toBe(isp.table());
    shared.close();
    const again = asnTableIspResolver({ cacheDir, share: false });
    await again.ready();
    expect(again.info().source).toBe('cache');
    for (const p of [0x080808, (77 << 16) | (88 << 8) | 8, (2 << 16) | (16 << 8) | 20]) {
      expect(again.lookup(4, p)).toEqual(isp.lookup(4, p));
    }
    again.close();
  });
});
