/**
 * createEnricher(): option validation, ISP-only lookups, bad input. Reverse DNS
 * against a real responder is in test/integration/dns-*.test.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddressInto } from '../../../src/capture/anonymize-ip.js';
import {
  createEnricher,
  DEFAULT_DOMAIN,
  DEFAULT_DOMAIN_TIMEOUT_MS,
  DEFAULT_ISP,
  type IspResolver,
} from '../../../src/enrich/index.js';
import { ERROR_CODES, isPrivacyLogError } from '../../../src/errors.js';

/** A fixed in-memory resolver (a test double of the ASN data, recording what it is asked). */
function fixedResolver(): IspResolver & { asked: Array<[number, number]> } {
  const asked: Array<[number, number]> = [];
  return {
    asked,
    lookup(family, prefix) {
      asked.push([family, prefix]);
      if (family === 4 && prefix === 0x5f1f01) return { isp: 'PJSC Rostelecom', asn: 12389 };
      if (family === 6 && prefix === 0x2a0206b80000) return { isp: 'YANDEX LLC', asn: 13238 };
      return undefined;
    },
  };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isPrivacyLogError(e) ? e.code : 'not a PrivacyLogError';
  }
  return undefined;
}

describe('createEnricher options', () => {
  it('has named defaults: ISP from the shipped data, reverse DNS off', async () => {
    expect(DEFAULT_ISP).toBe('auto');
    expect(DEFAULT_DOMAIN).toBe(false);
    expect(DEFAULT_DOMAIN_TIMEOUT_MS).toBe(300);
    const e = createEnricher({ isp: false });
    expect(e.metrics()).toMatchObject({ isp: { source: 'none', state: 'none' }, inFlight: 0, cacheSize: 0 });
    await e.ready();
    await e.close();
  });

  it("'auto' (the default) builds the shipped ASN table into the OS cache directory", async () => {
    const saved = process.env.XDG_CACHE_HOME;
    const dir = mkdtempSync(join(tmpdir(), 'privacy-log-auto-'));
    process.env.XDG_CACHE_HOME = dir;
    try {
      const e = createEnricher();
      expect(e.metrics().isp).toEqual({ source: 'asn-table', state: 'loading' });
      await e.ready();
      expect(e.metrics().isp).toEqual({ source: 'asn-table', state: 'ready' });
      expect(e.lookup('8.8.8.8', 4)).toEqual({ isp: 'Google LLC', asn: 15169 });
      expect(readdirSync(join(dir, 'privacy-log')).some((f) => /^asn-table-.*\.bin$/.test(f))).toBe(true);
      await e.close();
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it.each([
    [{ ips: 'auto' }, /Did you mean "isp"/],
    [{ domian: {} }, /Did you mean "domain"/],
    [{ domain: { timeoutMS: 100 } }, /Did you mean "timeoutMs"/],
    [{ domain: { concurency: 4 } }, /Did you mean "concurrency"/],
    [{ domain: { negativeTTLMs: 4 } }, /Did you mean "negativeTtlMs"/],
    [{ isp: 'Auto' }, /Did you mean 'auto'/],
    [{ isp: './GeoLite2-ASN.mmdb' }, /Did you mean \{ mmdb: '.\/GeoLite2-ASN.mmdb' \}/],
    [{ isp: { mmbd: 'x.mmdb' } }, /Did you mean "mmdb"/],
    [{ isp: { mmdb: '' } }, /mmdb/],
    [{ isp: true }, /isp/],
    [{ domain: 'on' }, /domain/],
    [{ domain: { timeoutMs: 0 } }, /timeoutMs/],
    [{ domain: { timeoutMs: 1.5 } }, /timeoutMs/],
    [{ domain: { concurrency: 0 } }, /concurrency/],
    [{ domain: { cacheSize: -1 } }, /cacheSize/],
    [{ domain: { ttlMs: '1h' } }, /ttlMs/],
    [{ domain: { servers: [] } }, /servers/],
    [{ domain: { servers: ['dns.example.com'] } }, /servers/],
    [{ domain: { servers: '127.0.0.1' } }, /servers/],
    ['auto', /options/],
  ])('rejects %j with a coded error', (options, message) => {
    expect(() => createEnricher(options as never)).toThrow(message);
    expect(codeOf(() => createEnricher(options as never))).toBe(ERROR_CODES.INVALID_OPTION);
  });

  it('accepts domain: true and a server list with ports', async () => {
    const e = createEnricher({ isp: false, domain: true });
    const f = createEnricher({ isp: false, domain: { servers: ['127.0.0.1:5353', '[::1]:53'] } });
    await Promise.all([e.close(), f.close()]);
  });
});

describe('createEnricher lookups', () => {
  it('hands the resolver only the routable prefix', () => {
    const isp = fixedResolver();
    const e = createEnricher({ isp });
    expect(e.lookup('95.31.1.2', 4)).toEqual({ isp: 'PJSC Rostelecom', asn: 12389 });
    expect(e.lookup('95.31.1.250', 4)).toEqual({ isp: 'PJSC Rostelecom', asn: 12389 });
    expect(e.lookup('2a02:6b8:0:1234::feed', 6)).toEqual({ isp: 'YANDEX LLC', asn: 13238 });
    expect(e.lookup('8.8.8.8', 4)).toBeUndefined();
    expect(isp.asked).toEqual([
      [4, 0x5f1f01],
      [4, 0x5f1f01],
      [6, 0x2a0206b80000],
      [4, 0x080808],
    ]);
    expect(e.metrics()).toMatchObject({ lookups: 4, ispFound: 3 });
  });

  it('property: lookupParsed (capture’s parsed address) asks and answers as lookup does', () => {
    const answers = (ask: (e: ReturnType<typeof createEnricher>, text: string, family: 4 | 6) => unknown) => {
      const isp = fixedResolver();
      const e = createEnricher({ isp });
      return { e, isp, ask: (text: string, family: 4 | 6) => ask(e, text, family) };
    };
    const byText = answers((e, text, family) => e.lookup(text, family));
    const byGroups = answers((e, text) => {
      const g = new Uint16Array(8);
      const family = parseAddressInto(text, g);
      return family === 0 ? 'not parsed' : e.lookupParsed(g, family);
    });
    const v4 = fc.tuple(fc.constant(95), fc.constant(31), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const anyV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const v6 = fc
      .tuple(
        fc.constantFrom(0x2a02, 0xfe80, 0x2001, 0xfc00),
        fc.constantFrom(0x6b8, 0xdb8),
        fc.nat(0xffff),
        fc.nat(0xffff),
      )
      .map((g) => `${g.map((x) => x.toString(16)).join(':')}::1`);
    fc.assert(
      fc.property(fc.oneof(v4, anyV4), (text) => {
        expect(byGroups.ask(text, 4)).toEqual(byText.ask(text, 4));
      }),
    );
    fc.assert(
      fc.property(v6, (text) => {
        expect(byGroups.ask(text, 6)).toEqual(byText.ask(text, 6));
      }),
    );
    expect(byGroups.isp.asked).toEqual(byText.isp.asked);
    expect(byGroups.e.metrics()).toEqual(byText.e.metrics());
    expect(byGroups.e.lookupParsed(new Uint16Array(8), 5 as 4)).toBeUndefined();
  });

  it('returns undefined and counts bad addresses, never throws (property)', () => {
    const e = createEnricher({ isp: fixedResolver() });
    for (const [a, f] of [
      ['999.1.1.1', 4],
      ['::1', 4],
      ['1.2.3.4', 6],
      ['', 4],
      ['fe80::1%eth0', 6],
      [undefined, 4],
      ['1.2.3.4', 5],
    ] as const) {
      expect(e.lookup(a as never, f as never)).toBeUndefined();
    }
    expect(e.metrics().invalid).toBe(7);
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(4, 6), (s, f) => {
        const r = e.lookup(s, f as 4 | 6);
        expect(r === undefined || typeof r === 'object').toBe(true);
      }),
    );
  });

  it('a throwing custom resolver costs the ISP, not the request', () => {
    const e = createEnricher({
      isp: {
        lookup() {
          throw new Error('broken');
        },
      },
    });
    expect(e.lookup('95.31.1.2', 4)).toBeUndefined();
  });

  it('ready() rejects for explicitly configured data that fails to load', async () => {
    const failing: IspResolver = { lookup: () => undefined, ready: () => Promise.reject(new Error('no data')) };
    const e = createEnricher({ isp: failing });
    await expect(e.ready()).rejects.toThrow('no data');
    expect(e.metrics().isp.state).toBe('failed');
  });

  it('close() is idempotent and releases the resolver', async () => {
    let closed = 0;
    const e = createEnricher({ isp: { lookup: () => undefined, close: () => void closed++ } });
    await e.close();
    await e.close();
    expect(closed).toBe(1);
    expect(e.lookup('95.31.1.2', 4)).toBeUndefined();
  });
});
