/**
 * Enrichment through the real middleware: a Koa app behind a trusted loopback
 * proxy, the shipped ASN data, and reverse DNS answered by a real UDP DNS
 * responder on loopback. The domain found by the PTR query is completed on the
 * stored event by the pipeline, and the address appears nowhere.
 */
import { createServer } from 'node:http';
import Koa from 'koa';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privacyLog } from '../../middleware/koa.js';
import { memoryAggregator } from '../../src/aggregators/memory-aggregator.js';
import { type DnsTestServer, echoBehaviour, probeLoopbackDns, startDnsServer } from '../helpers/dns-server.js';

const dns = await probeLoopbackDns();

describe.skipIf(!dns.available)(`enrichment in the middleware (${dns.reason})`, () => {
  let server: DnsTestServer;
  beforeAll(async () => {
    server = await startDnsServer(echoBehaviour('dynamic.rostelecom.ru'));
  });
  afterAll(async () => server?.close());

  it('completes ISP and domain on the stored event, without the address', async () => {
    const memory = memoryAggregator();
    const privacy = privacyLog({
      site: 'oblachko',
      trustProxy: 'loopback',
      aggregators: [memory],
      enrich: { isp: 'auto', domain: { servers: [server.server], timeoutMs: 1000 } },
    });
    await privacy.ready();
    const app = new Koa();
    app.use(privacy);
    app.use((ctx) => {
      ctx.body = 'ok';
      ctx.type = 'html';
    });
    const http = createServer(app.callback());
    try {
      const address = '2.16.20.77';
      await supertest(http).get('/').set('x-forwarded-for', address);
      await new Promise((r) => setTimeout(r, 20));
      await privacy.pipeline.flush();
      const event = memory.events.at(-1);
      expect(event?.client).toMatchObject({ address: '2.16.20.0', prefixLength: 24, domain: 'rostelecom.ru' });
      expect(event?.client.asn).toBe(12389);
      expect(event?.client.isp).toMatch(/rostelecom/i);
      expect(server.queries()).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(memory.events)).not.toContain(address);
      expect(JSON.stringify(memory.events)).not.toContain('77-20-16-2');
    } finally {
      await privacy.close();
    }
  });

  it('skips reverse DNS for private and loopback clients', async () => {
    const memory = memoryAggregator();
    const privacy = privacyLog({
      aggregators: [memory],
      enrich: { isp: false, domain: { servers: [server.server] } },
    });
    const before = server.queries();
    const app = new Koa();
    app.use(privacy);
    app.use((ctx) => {
      ctx.body = 'ok';
      ctx.type = 'html';
    });
    try {
      await supertest(createServer(app.callback())).get('/');
      await privacy.pipeline.flush();
      expect(memory.events.at(-1)?.client.domain).toBeUndefined();
      expect(server.queries()).toBe(before);
    } finally {
      await privacy.close();
    }
  });
});
