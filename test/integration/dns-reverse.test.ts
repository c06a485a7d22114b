/**
 * Reverse DNS against a real UDP DNS responder on 127.0.0.1 (test/helpers/dns-server.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnricher, type Enricher, type EnrichOptions } from '../../src/enrich/index.js';
import { ReverseDnsLookup } from '../../src/enrich/reverse-dns-lookup.js';
import { parseIPv4 } from '../../src/enrich/routable-prefix.js';
import {
  type DnsBehaviour,
  type DnsTestServer,
  probeLoopbackDns,
  startDnsServer,
  wireName,
} from '../helpers/dns-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PTR behaviour per IPv4 address (the query is the reversed in-addr.arpa name). */
const BY_ADDRESS: Record<string, DnsBehaviour> = {
  '95.31.1.2': { ptr: ['95-31-1-2.dynamic.rostelecom.ru'] },
  '95.31.1.3': { ptr: ['ec2-95-31-1-3.compute-1.amazonaws.com'] },
  '95.31.1.4': { ptr: ['95-31-1-4.com'] },
  '95.31.1.5': { ptr: ['Host.Example.CO.UK.'] },
  '95.31.1.6': { ptr: ['not a host!', 'pool-6.mts.spb.ru'] },
  '91.76.1.1': { ptr: ['client.mtu.msk.ru'], delayMs: 80 },
  '91.76.1.2': { ptr: ['late.mts.ru'], delayMs: 800 },
  '91.76.1.3': { rcode: 'SERVFAIL' },
  '91.76.1.4': { rcode: 'NXDOMAIN' },
  '91.76.1.5': { drop: true },
  '91.76.1.6': { rawPtr: wireName(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63), 'example', 'com']) },
  '91.76.1.7': { rawPtr: wireName(['host\x07bell', 'example', 'com']) },
  '91.76.1.8': { rawPtr: wireName(['host\x00x', 'example', 'com']) },
  '91.76.1.9': { rawPtr: Uint8Array.from([0x50, ...Buffer.from('x'.repeat(80)), 3, 99, 111, 109, 0]) },
  // 253 characters: the longest name DNS can carry, still accepted
  '91.76.1.10': { ptr: [`${'h'.repeat(63)}.${'i'.repeat(63)}.${'j'.repeat(63)}.${'k'.repeat(52)}.tele2.ru`] },
  '91.76.1.11': { ptr: ['x.shop.com.ru'] },
  '91.76.1.12': { ptr: ['evil\r\nname.example.org'] },
};
for (let i = 20; i < 30; i++) BY_ADDRESS[`91.76.2.${i}`] = { ptr: [`c${i}.slow.example.net`], delayMs: 150 };
for (let i = 30; i < 40; i++) BY_ADDRESS[`91.76.2.${i}`] = { ptr: [`c${i}.fast.example.net`] };

function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}
const BY_NAME = new Map(Object.entries(BY_ADDRESS).map(([ip, b]) => [reverseName(ip), b]));
// 2a02:6b8::feed → nibble name
const V6 = '2a02:6b8::feed';
const V6_NAME = `d.e.e.f.${'0.'.repeat(20)}8.b.6.0.2.0.a.2.ip6.arpa`;

let dns: DnsTestServer;
const open: Enricher[] = [];
const gate = await probeLoopbackDns();

beforeAll(async () => {
  if (!gate.available) return;
  dns = await startDnsServer((queried, type) => {
    const name = queried.toLowerCase();
    if (type !== 'PTR') return { rcode: 'NXDOMAIN' };
    if (name === V6_NAME) return { ptr: ['ip6-feed.static.yandex.net'] };
    return BY_NAME.get(name) ?? { rcode: 'NXDOMAIN' };
  });
});
afterAll(async () => {
  for (const e of open) await e.close();
  await dns?.close();
});

function enricher(domain: EnrichOptions['domain'] = {}): Enricher {
  const options = typeof domain === 'object' ? { servers: [dns.server], timeoutMs: 1000, ...domain } : domain;
  const e = createEnricher({ isp: false, domain: options });
  open.push(e);
  return e;
}

async function domainOf(e: Enricher, ip: string, family: 4 | 6 = 4): Promise<string | undefined> {
  const r = e.lookup(ip, family);
  if (r?.pending) return (await r.pending).domain;
  return r?.domain;
}

describe.skipIf(!gate.available)(`reverse DNS against a real responder (${gate.reason})`, () => {
  it('reduces a PTR answer to its registrable domain, then serves it from the cache', async () => {
    const e = enricher();
    const before = dns.queries();
    const first = e.lookup('95.31.1.2', 4);
    expect(first?.domain).toBeUndefined();
    expect(first?.pending).toBeInstanceOf(Promise);
    expect(await first?.pending).toEqual({ domain: 'rostelecom.ru' });
    const second = e.lookup('95.31.1.2', 4);
    expect(second).toEqual({ domain: 'rostelecom.ru' });
    expect(dns.queries() - before).toBe(1);
    expect(e.metrics()).toMatchObject({ lookups: 2, hits: 1, misses: 1, cacheSize: 1, inFlight: 0 });
  });

  it('keeps the registrable domain under multi-label and private suffixes', async () => {
    const e = enricher();
    expect(await domainOf(e, '95.31.1.5')).toBe('example.co.uk');
    expect(await domainOf(e, '95.31.1.6')).toBe('mts.spb.ru'); // first name junk, second used
    expect(await domainOf(e, '91.76.1.1')).toBe('mtu.msk.ru');
    expect(await domainOf(e, '91.76.1.11')).toBe('shop.com.ru');
  });

  it('never keeps a domain that spells out the address', async () => {
    const e = enricher();
    expect(await domainOf(e, '95.31.1.3')).toBe('amazonaws.com');
    expect(await domainOf(e, '95.31.1.4')).toBeUndefined();
    expect(e.metrics().rejected).toBe(1);
  });

  it('accepts a name of 253 characters, the longest DNS carries', async () => {
    const e = enricher();
    expect(await domainOf(e, '91.76.1.10')).toBe('tele2.ru');
  });

  it('answers IPv6 PTR queries', async () => {
    const e = enricher();
    expect(await domainOf(e, V6, 6)).toBe('yandex.net');
  });

  it('waits for a slow answer within the timeout', async () => {
    const e = enricher({ timeoutMs: 300 });
    expect(await domainOf(e, '91.76.1.1')).toBe('mtu.msk.ru');
    expect(e.metrics().timeouts).toBe(0);
  });

  it('gives up on a late answer at the timeout, then caches it when it arrives', async () => {
    const e = enricher({ timeoutMs: 250 });
    const t0 = performance.now();
    expect(await domainOf(e, '91.76.1.2')).toBeUndefined();
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(240);
    expect(waited).toBeLessThan(750);
    expect(e.metrics().timeouts).toBe(1);
    // the late answer warms the cache (the responder answers at 800 ms; the query may run 4 × 250 ms)
    for (let i = 0; i < 80 && e.metrics().inFlight > 0; i++) await sleep(25);
    expect(e.lookup('91.76.1.2', 4)).toEqual({ domain: 'mts.ru' });
  });

  it('times out on silence and caches the negative', async () => {
    const e = enricher({ timeoutMs: 100 });
    const before = dns.queries();
    expect(await domainOf(e, '91.76.1.5')).toBeUndefined();
    expect(e.lookup('91.76.1.5', 4)).toBeUndefined();
    expect(e.metrics()).toMatchObject({ timeouts: 1, hits: 1 });
    expect(dns.queries() - before).toBe(1);
  });

  it('turns SERVFAIL into no domain, counted as an error and cached', async () => {
    const e = enricher();
    const before = dns.queries();
    expect(await domainOf(e, '91.76.1.3')).toBeUndefined();
    expect(await domainOf(e, '91.76.1.3')).toBeUndefined();
    expect(e.metrics()).toMatchObject({ errors: 1, hits: 1, misses: 1 });
    expect(dns.queries() - before).toBe(1);
  });

  it('turns NXDOMAIN into no domain, counted as not found', async () => {
    const e = enricher();
    expect(await domainOf(e, '91.76.1.4')).toBeUndefined();
    expect(e.metrics()).toMatchObject({ notFound: 1, errors: 0 });
  });

  it.each([
    ['a name over the 255-byte wire limit', '91.76.1.6'],
    ['a name with a BEL control character', '91.76.1.7'],
    ['a name with a NUL byte', '91.76.1.8'],
    ['a label longer than 63 bytes', '91.76.1.9'],
    ['a name with CR LF', '91.76.1.12'],
  ])('gives no domain for %s', async (_label, ip) => {
    const e = enricher();
    expect(await domainOf(e, ip)).toBeUndefined();
    const m = e.metrics();
    expect(m.rejected + m.errors).toBe(1);
    expect(e.lookup(ip, 4)).toBeUndefined(); // cached negative
  });

  it('bounds concurrency: addresses beyond it get no domain and are counted', async () => {
    const e = enricher({ concurrency: 3, timeoutMs: 400 });
    const results = Array.from({ length: 6 }, (_, i) => e.lookup(`91.76.2.${20 + i}`, 4));
    expect(results.filter((r) => r?.pending).length).toBe(3);
    expect(results.filter((r) => r === undefined).length).toBe(3);
    expect(e.metrics()).toMatchObject({ saturated: 3, inFlight: 3 });
    const domains = await Promise.all(results.map((r) => r?.pending?.then((x) => x.domain)));
    expect(domains).toEqual(['example.net', 'example.net', 'example.net', undefined, undefined, undefined]);
    // once the queries finish, new addresses are looked up again
    const again = e.lookup('91.76.2.23', 4);
    expect(again?.pending).toBeInstanceOf(Promise);
    expect((await again?.pending)?.domain).toBe('example.net');
  });

  it('sends one query for concurrent lookups of the same address', async () => {
    const e = enricher();
    const before = dns.queries();
    const a = e.lookup('91.76.2.30', 4);
    const b = e.lookup('91.76.2.30', 4);
    expect((await a?.pending)?.domain).toBe('example.net');
    expect((await b?.pending)?.domain).toBe('example.net');
    expect(dns.queries() - before).toBe(1);
  });

  it('skips private, loopback, link-local, unique-local and CGNAT addresses without a query', async () => {
    const e = enricher();
    const before = dns.queries();
    const skipped: Array<[string, 4 | 6]> = [
      ['10.1.2.3', 4],
      ['127.0.0.1', 4],
      ['192.168.1.20', 4],
      ['172.16.5.4', 4],
      ['169.254.10.1', 4],
      ['100.64.1.1', 4],
      ['::1', 6],
      ['fe80::1', 6],
      ['fd12:3456::1', 6],
      ['fc00::5', 6],
    ];
    for (const [ip, f] of skipped) expect(e.lookup(ip, f)).toBeUndefined();
    await sleep(50);
    expect(dns.queries() - before).toBe(0);
    expect(e.metrics().skipped).toBe(skipped.length);
  });

  it('expires positive and negative entries after their TTLs', async () => {
    const e = enricher({ ttlMs: 400, negativeTtlMs: 400 });
    const before = dns.queries();
    expect(await domainOf(e, '91.76.2.31')).toBe('example.net');
    expect(await domainOf(e, '91.76.1.4')).toBeUndefined();
    expect(e.lookup('91.76.2.31', 4)?.domain).toBe('example.net');
    await sleep(450);
    const positive = e.lookup('91.76.2.31', 4);
    const negative = e.lookup('91.76.1.4', 4);
    expect(positive?.pending).toBeInstanceOf(Promise);
    expect(negative?.pending).toBeInstanceOf(Promise);
    expect((await positive?.pending)?.domain).toBe('example.net');
    expect((await negative?.pending)?.domain).toBeUndefined();
    // every expired entry went back to the wire: nothing below us (c-ares) cached it
    expect(dns.queries() - before).toBe(4);
  });

  it('evicts the least recently used entry beyond cacheSize', async () => {
    const e = enricher({ cacheSize: 2 });
    await domainOf(e, '91.76.2.32');
    await domainOf(e, '91.76.2.33');
    e.lookup('91.76.2.32', 4); // touch: .33 is now the oldest
    await domainOf(e, '91.76.2.34');
    expect(e.metrics().cacheSize).toBe(2);
    expect(e.lookup('91.76.2.32', 4)?.domain).toBe('example.net');
    expect(e.lookup('91.76.2.33', 4)?.pending).toBeInstanceOf(Promise);
  });

  it('close() resolves running lookups without a domain and stops answering', async () => {
    const e = enricher({ timeoutMs: 1000 });
    const r = e.lookup('91.76.2.25', 4);
    await e.close();
    await e.close();
    expect(await r?.pending).toEqual({});
    expect(e.lookup('95.31.1.2', 4)).toBeUndefined();
  });

  it('keys the cache by a keyed hash: neither keys nor values hold the address', async () => {
    const counters = { hits: 0, misses: 0, timeouts: 0, errors: 0, notFound: 0, rejected: 0, saturated: 0 };
    const a = new ReverseDnsLookup(
      { timeoutMs: 250, concurrency: 4, cacheSize: 10, ttlMs: 60_000, negativeTtlMs: 60_000, servers: [dns.server] },
      counters,
    );
    const b = new ReverseDnsLookup(
      { timeoutMs: 250, concurrency: 4, cacheSize: 10, ttlMs: 60_000, negativeTtlMs: 60_000, servers: [dns.server] },
      counters,
    );
    const ip = '95.31.1.2';
    const words = Uint32Array.of(0, 0, 0xffff, parseIPv4(ip));
    await a.lookup(4, words);
    await b.lookup(4, words);
    const [[keyA, valueA]] = a.cache.entries() as [[number, string | null]];
    const [[keyB]] = b.cache.entries() as [[number, string | null]];
    expect(valueA).toBe('rostelecom.ru');
    expect(Number.isSafeInteger(keyA)).toBe(true);
    expect(keyA).not.toBe(keyB); // a random key per instance
    expect(keyA).not.toBe(parseIPv4(ip));
    const dump = JSON.stringify([...a.cache.entries(), ...b.cache.entries()]);
    for (const form of [ip, '95-31-1-2', '2.1.31.95', String(parseIPv4(ip))]) expect(dump).not.toContain(form);
    a.close();
    b.close();
  });
});
