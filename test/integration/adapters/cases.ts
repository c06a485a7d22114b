/**
 * The adapter cases: every behaviour a framework adapter must show, written
 * once and run against Koa and Express through their harness's check().
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/event.js';
import type { Harness, HarnessFactory } from '../../helpers/harness.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';
const FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0';

function cookiesOf(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers['set-cookie'];
  return Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
}

function cookiePair(cookies: string[], name: string): string | undefined {
  return cookies.find((c) => c.startsWith(`${name}=`))?.split(';')[0];
}

/** Sends a request with an arbitrary method through node:http (supertest knows only the common ones). */
function rawMethod(h: Harness, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, h.origin);
    const req = httpRequest({ method, host: url.hostname, port: url.port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes raw bytes on a socket and returns what the server answered (or '' if it closed). */
function rawExchange(h: Harness, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const url = new URL(h.origin);
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.write(bytes);
    setTimeout(() => socket.end(), 300);
  });
}

async function settle(h: Harness): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 10));
  await h.pipeline.flush();
}

export function adapterCases(name: string, factory: HarnessFactory): void {
  describe(`${name}: capture`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await factory({ site: 'oblachko' });
    });
    afterAll(async () => h.close());

    it('records a page view, anonymized, with a UUIDv7 id', async () => {
      await h.check({ path: '/', headers: { 'user-agent': FIREFOX_UA } }, (res, e) => {
        expect(res.status).toBe(200);
        expect(e).toBeDefined();
        expect(validateEvent(e)).toBeUndefined();
        expect(e?.kind).toBe('pageview');
        expect(e?.site).toBe('oblachko');
        expect(e?.id).toMatch(UUID7);
        expect(e?.request).toEqual({ method: 'GET', path: '/', route: '/' });
        expect(e?.response.status).toBe(200);
        expect(e?.client).toEqual({ address: '127.0.0.0', prefixLength: 24 });
        expect(e?.agent).toMatchObject({ browser: 'Firefox', browserVersion: '145', os: 'Linux', bot: false });
        expect(e?.consent).toMatchObject({ analytics: 'unset', source: 'default' });
        expect(e?.session).toBeUndefined();
      });
    });

    it('exposes the consent before the handler and the event after the response', async () => {
      await h.check({ path: '/' }, (_res, e) => {
        const state = h.lastState() as { consent: { analytics: string }; event?: unknown };
        expect(state.consent.analytics).toBe('unset');
        expect(state.event).toEqual(e);
      });
    });

    it('keeps only allow-listed query parameters', async () => {
      await h.check({ path: '/?utm_source=vk&email=parent%40mail.ru&ref=flyer&token=abc' }, (_res, e) => {
        expect(e?.request.query).toContain('utm_source=vk');
        expect(e?.request.query).toContain('ref=flyer');
        expect(JSON.stringify(e)).not.toContain('parent');
        expect(JSON.stringify(e)).not.toContain('token');
      });
    });

    it('redacts secret-looking path segments and records the route pattern', async () => {
      await h.check({ path: '/news/parent.name@mail.ru' }, (_res, e) => {
        expect(e?.request.path).toBe('/news/:redacted');
        expect(e?.request.route).toBe('/news/:id');
        expect(JSON.stringify(e)).not.toContain('mail.ru');
      });
    });

    it('records downloads by extension and by Content-Disposition, complete when fully sent', async () => {
      await h.check({ path: '/docs/menu.pdf' }, (_res, e) => {
        expect(e?.kind).toBe('download');
        expect(e?.download).toMatchObject({ file: 'menu.pdf', complete: true });
        expect(e?.response.bytes).toBe(2048);
      });
      await h.check({ path: '/attachment' }, (_res, e) => {
        expect(e?.kind).toBe('download');
        expect(e?.download?.complete).toBe(true);
      });
    });

    it('records an aborted download as incomplete', async () => {
      const before = h.memory.events.length;
      await new Promise<void>((resolve) => {
        const url = new URL('/big', h.origin);
        const req = httpRequest({ host: url.hostname, port: url.port, path: '/big' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.end();
      });
      const deadline = Date.now() + 5000;
      while (h.memory.events.length === before && Date.now() < deadline) await settle(h);
      const e = h.memory.events.slice(before).find((x) => x.request.path === '/big');
      expect(e?.kind).toBe('download');
      expect(e?.download?.complete).toBe(false);
      expect(e?.response.bytes).toBeUndefined();
    });

    it('classifies api, error and 404, and does not forward assets by default', async () => {
      await h.check({ path: '/api/items' }, (_res, e) => expect(e?.kind).toBe('api'));
      await h.check({ path: '/boom' }, (res, e) => {
        expect(res.status).toBe(500);
        expect(e?.kind).toBe('error');
        expect(e?.response.status).toBe(500);
      });
      await h.check({ path: '/no-such-page' }, (res, e) => {
        expect(res.status).toBe(404);
        expect(e?.kind).toBe('error');
      });
      await h.check({ path: '/style.css' }, (res, e) => {
        expect(res.status).toBe(200);
        expect(e).toBeUndefined();
      });
    });

    it('ignores X-Forwarded-For unless a proxy is trusted', async () => {
      await h.check({ path: '/', headers: { 'x-forwarded-for': '203.0.113.7' } }, (_res, e) => {
        expect(e?.client.address).toBe('127.0.0.0');
      });
    });

    it('honours Sec-GPC only for the exact value 1, and DNT after it', async () => {
      await h.check({ path: '/', headers: { 'sec-gpc': '1' } }, (_res, e) =>
        expect(e?.consent).toMatchObject({ analytics: 'denied', source: 'gpc' }),
      );
      await h.check({ path: '/', headers: { 'sec-gpc': 'true' } }, (_res, e) =>
        expect(e?.consent.source).toBe('default'),
      );
      await h.check({ path: '/', headers: { dnt: '1' } }, (_res, e) =>
        expect(e?.consent).toMatchObject({ analytics: 'denied', source: 'dnt' }),
      );
    });

    it('serves and records requests with broken or hostile input', async () => {
      const hostile = [
        '/%E0%A4%A',
        '/%C3%28/%FF%FE',
        '/a%0d%0aSet-Cookie:%20x=1',
        '/esc%1b[31m/nul%00/ls%E2%80%A8ps%E2%80%A9',
        `/${'a'.repeat(5000)}`,
      ];
      for (const path of hostile) {
        await h.check({ path }, (res, e) => {
          expect(res.status).toBeLessThan(500);
          expect(e).toBeDefined();
          expect(validateEvent(e)).toBeUndefined();
          expect(CONTROL.test(JSON.stringify(e?.request))).toBe(false);
        });
      }
      const headers: Record<string, string>[] = [
        { 'user-agent': 'x'.repeat(16 * 1024) },
        { 'user-agent': `Mozilla/5.0 ${'(a'.repeat(4000)}` },
        { referer: `https://${'b'.repeat(300)}.example/${'c'.repeat(9000)}` },
        { cookie: `privacy_consent=${'%'.repeat(4000)}; privacy_session=../../etc` },
        { cookie: 'privacy_consent=v.999.a.1.at.1; privacy_consent=garbage' },
        { 'x-forwarded-for': `${'300.1.2.3, '.repeat(500)}::ffff:1.2.3.4%eth0` },
        { 'sec-ch-ua': '"Not)A;Brand";v="99", "\u00ff"'.repeat(200), 'sec-ch-ua-mobile': '?7' },
      ];
      for (const hdr of headers) {
        await h.check({ path: '/', headers: hdr }, (res, e) => {
          expect(res.status).toBe(200);
          expect(validateEvent(e)).toBeUndefined();
          expect(e?.consent.analytics).toBe('unset');
        });
      }
    });

    it('survives raw control characters in headers, and keeps serving', async () => {
      const raw = Buffer.from(
        'GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: a\u001b[2Jb\u0085c\r\nReferer: http://x.test/\u0000y\r\nConnection: close\r\n\r\n',
        'latin1',
      );
      const answer = await rawExchange(h, raw);
      expect(answer === '' || answer.startsWith('HTTP/1.1 ')).toBe(true);
      await h.check({ path: '/' }, (res) => expect(res.status).toBe(200));
      for (const e of h.memory.events) expect(validateEvent(e)).toBeUndefined();
    });

    it('records HEAD, OPTIONS and unknown methods', async () => {
      await h.check({ method: 'HEAD', path: '/' }, (res, e) => {
        expect(res.status).toBe(200);
        expect(e?.request.method).toBe('HEAD');
      });
      await h.check({ method: 'OPTIONS', path: '/' }, (_res, e) => {
        expect(e?.request.method).toBe('OPTIONS');
        expect(e?.kind).not.toBe('pageview');
      });
      const before = h.memory.events.length;
      const status = await rawMethod(h, 'PROPFIND', '/');
      expect(status).toBeGreaterThanOrEqual(200);
      await settle(h);
      const e = h.memory.events.slice(before).at(-1);
      expect(e?.request.method).toBe('PROPFIND');
    });
  });

  describe(`${name}: consent`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await factory({ site: 'oblachko', consent: { policyVersion: '2026-11' } });
    });
    afterAll(async () => h.close());

    it('serves /.well-known/gpc.json and the consent state', async () => {
      const gpc = await h.agent.get('/.well-known/gpc.json');
      expect(gpc.status).toBe(200);
      expect(gpc.body.gpc).toBe(true);
      const state = await h.agent.get('/privacy/consent');
      expect(state.status).toBe(200);
      expect(state.body.analytics).toBe('unset');
    });

    it('grants by form, sets a session, tags events with it, then withdraws and erases them', async () => {
      const granted = await h.agent
        .post('/privacy/consent')
        .set('Origin', h.origin)
        .type('form')
        .send('analytics=granted&return=/news/1');
      expect(granted.status).toBe(303);
      expect(granted.headers.location).toBe('/news/1');
      const cookies = cookiesOf(granted);
      const consent = cookiePair(cookies, 'privacy_consent');
      const session = cookiePair(cookies, 'privacy_session');
      expect(consent).toBeDefined();
      expect(session).toBeDefined();
      expect(cookies.find((c) => c.startsWith('privacy_consent='))).toMatch(/HttpOnly/i);
      expect(cookies.find((c) => c.startsWith('privacy_consent='))).toMatch(/SameSite=Lax/i);
      const sessionId = session?.split('=')[1];

      await h.check({ path: '/', headers: { cookie: `${consent}; ${session}` } }, (res, e) => {
        expect(e?.consent).toMatchObject({ analytics: 'granted', source: 'choice', policyVersion: '2026-11' });
        expect(e?.session?.id).toBe(sessionId);
        expect(cookiePair(cookiesOf(res), 'privacy_session')).toBe(session);
      });
      expect(h.memory.events.some((e) => e.session?.id === sessionId)).toBe(true);

      const withdrawn = await h.agent
        .post('/privacy/consent')
        .set('Origin', h.origin)
        .set('Cookie', `${consent}; ${session}`)
        .type('form')
        .send('analytics=withdraw&return=/');
      expect(withdrawn.status).toBe(303);
      const cleared = cookiesOf(withdrawn).filter((c) => /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c));
      expect(cleared.length).toBeGreaterThanOrEqual(1);
      await settle(h);
      expect(h.memory.events.some((e) => e.session?.id === sessionId)).toBe(false);
    });

    it('refusing records denied by choice with no session cookie', async () => {
      const refused = await h.agent
        .post('/privacy/consent')
        .set('Origin', h.origin)
        .type('form')
        .send('analytics=denied');
      const consent = cookiePair(cookiesOf(refused), 'privacy_consent');
      expect(cookiePair(cookiesOf(refused), 'privacy_session')?.split('=')[1] ?? '').toBe('');
      await h.check({ path: '/', headers: { cookie: `${consent}` } }, (res, e) => {
        expect(e?.consent).toMatchObject({ analytics: 'denied', source: 'choice' });
        expect(e?.session).toBeUndefined();
        expect(cookiePair(cookiesOf(res), 'privacy_session')).toBeUndefined();
      });
    });

    it('treats a cookie for another policy version, or a broken one, as unset', async () => {
      const granted = await h.agent.post('/privacy/consent').set('Origin', h.origin).send({ analytics: 'granted' });
      const consent = cookiePair(cookiesOf(granted), 'privacy_consent') ?? '';
      expect(consent).not.toBe('');
      for (const broken of ['privacy_consent=', 'privacy_consent=granted', `${consent}${'x'.repeat(300)}`]) {
        await h.check({ path: '/', headers: { cookie: broken } }, (_res, e) => {
          expect(e?.consent).toMatchObject({ analytics: 'unset', source: 'default' });
        });
      }
      const other = await factory({ site: 'oblachko', consent: { policyVersion: '2027-01' } });
      try {
        await other.check({ path: '/', headers: { cookie: consent } }, (_res, e) => {
          expect(e?.consent).toMatchObject({ analytics: 'unset', source: 'default' });
          expect(e?.session).toBeUndefined();
        });
      } finally {
        await other.close();
      }
    });

    it('refuses a cross-site consent POST', async () => {
      const res = await h.agent
        .post('/privacy/consent')
        .set('Origin', 'https://evil.example')
        .type('form')
        .send('analytics=granted');
      expect(res.status).toBe(403);
      expect(cookiePair(cookiesOf(res), 'privacy_consent')).toBeUndefined();
    });
  });

  describe(`${name}: trusted proxies`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await factory({ site: 'oblachko', trustProxy: 'loopback' });
    });
    afterAll(async () => h.close());

    it('takes the closest untrusted address from X-Forwarded-For', async () => {
      await h.check({ path: '/', headers: { 'x-forwarded-for': '198.51.100.23, 203.0.113.7' } }, (_res, e) => {
        expect(e?.client).toMatchObject({ address: '203.0.113.0', prefixLength: 24 });
      });
      await h.check({ path: '/', headers: { 'x-forwarded-for': '2001:db8:abcd:12:1::7' } }, (_res, e) => {
        expect(e?.client).toMatchObject({ address: '2001:db8:abcd::', prefixLength: 48 });
      });
      await h.check({ path: '/', headers: { 'x-forwarded-for': '0x7f.1' } }, (_res, e) => {
        expect(e?.client).toMatchObject({ address: 'unknown', prefixLength: 0 });
      });
    });

    it('accepts X-Forwarded-For entries with a port, for the client and for a trusted proxy', async () => {
      await h.check({ path: '/', headers: { 'x-forwarded-for': '203.0.113.7:5123' } }, (_res, e) => {
        expect(e?.client).toEqual({ address: '203.0.113.0', prefixLength: 24 });
      });
      await h.check({ path: '/', headers: { 'x-forwarded-for': '[2001:db8:abcd:12::1]:443' } }, (_res, e) => {
        expect(e?.client).toEqual({ address: '2001:db8:abcd::', prefixLength: 48 });
      });
      await h.check({ path: '/', headers: { 'x-forwarded-for': '[2001:db8:abcd:12::1]' } }, (_res, e) => {
        expect(e?.client).toEqual({ address: '2001:db8:abcd::', prefixLength: 48 });
      });
      // The trusted loopback proxy wrote its own address with a port: the client is left of it.
      await h.check({ path: '/', headers: { 'x-forwarded-for': '198.51.100.23:40000, 127.0.0.1:8080' } }, (_res, e) => {
        expect(e?.client).toEqual({ address: '198.51.100.0', prefixLength: 24 });
      });
      for (const bad of ['203.0.113.7:99999', '203.0.113.7:', '[203.0.113.7]:80', '[2001:db8::1]443']) {
        await h.check({ path: '/', headers: { 'x-forwarded-for': bad } }, (res, e) => {
          expect(res.status).toBe(200);
          expect(e?.client).toEqual({ address: 'unknown', prefixLength: 0 });
        });
      }
    });

    it('property: a port on the client entry changes nothing in the event', async () => {
      const entries = fc.sample(
        fc.oneof(
          fc
            .tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(65535))
            .map(([a, b, c, d, p]) => [`${a}.${b}.${c}.${d}`, `${a}.${b}.${c}.${d}:${p}`] as const),
          fc.tuple(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), fc.nat(65535)).map(([g, p]) => {
            const text = g.map((x) => x.toString(16)).join(':');
            return [text, `[${text}]:${p}`] as const;
          }),
        ),
        40,
      );
      for (const [plain, withPort] of entries) {
        let expected: unknown;
        await h.check({ path: '/', headers: { 'x-forwarded-for': plain } }, (_res, e) => {
          expected = e?.client;
        });
        await h.check({ path: '/', headers: { 'x-forwarded-for': withPort } }, (_res, e) => {
          expect(e?.client).toEqual(expected);
          expect(e?.client.address).not.toBe('unknown');
        });
      }
    });

    it('canary: no client address ever appears in the stored events', async () => {
      const v4 = fc
        .tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 }))
        .map((p) => p.join('.'));
      const v6 = fc
        .array(fc.integer({ min: 1, max: 0xffff }), { minLength: 8, maxLength: 8 })
        .map((g) => g.map((x) => x.toString(16)).join(':'));
      const addresses = fc.sample(fc.oneof(v4, v6), 1000);
      const before = h.memory.events.length;
      for (let i = 0; i < addresses.length; i += 50) {
        await Promise.all(
          addresses
            .slice(i, i + 50)
            .map((a) => h.agent.get('/').set('x-forwarded-for', a).set('user-agent', CHROME_UA)),
        );
      }
      await settle(h);
      const stored = h.memory.events.slice(before);
      expect(stored.length).toBe(addresses.length);
      const json = JSON.stringify(stored);
      for (const a of addresses) {
        const escaped = a.replace(/[.:]/g, (c) => `\\${c}`);
        expect(new RegExp(`(?<![0-9a-f.:])${escaped}(?![0-9a-f.:])`, 'i').test(json)).toBe(false);
      }
    });
  });

  describe(`${name}: the visitor's previous event`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await factory({
        site: 'oblachko',
        trustProxy: 'loopback',
        capture: { rememberPrevious: { ttlMs: 60_000, maxEntries: 100 } },
      });
    });
    afterAll(async () => h.close());

    it('finds the previous event of the same address and User-Agent, a port or not', async () => {
      let first: unknown;
      const ua = { 'user-agent': FIREFOX_UA };
      await h.check({ path: '/', headers: { ...ua, 'x-forwarded-for': '198.51.100.77' } }, (_res, e) => {
        first = e;
        expect((h.lastState() as { previous?: unknown }).previous).toBeUndefined();
      });
      await h.check({ path: '/', headers: { ...ua, 'x-forwarded-for': '198.51.100.77:40123' } }, (_res, e) => {
        expect((h.lastState() as { previous?: unknown }).previous).toEqual(first);
        expect(e?.client).toEqual({ address: '198.51.100.0', prefixLength: 24 });
      });
      await h.check({ path: '/', headers: { ...ua, 'x-forwarded-for': '198.51.100.78' } }, () => {
        expect((h.lastState() as { previous?: unknown }).previous).toBeUndefined();
      });
      await h.check({ path: '/', headers: { 'user-agent': CHROME_UA, 'x-forwarded-for': '198.51.100.77' } }, () => {
        expect((h.lastState() as { previous?: unknown }).previous).toBeUndefined();
      });
    });
  });

  describe(`${name}: metrics route`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await factory({ site: 'oblachko', routes: { metrics: { token: 'scrape-token-0123456789' } } });
    });
    afterAll(async () => h.close());

    it('serves Prometheus text behind its token, counting what happened', async () => {
      await h.agent.get('/');
      await h.agent.get('/style.css');
      await settle(h);
      expect((await h.agent.get('/metrics')).status).toBe(401);
      expect((await h.agent.get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789')).status).toBe(401);
      const res = await h.agent.get('/metrics').set('Authorization', 'Bearer scrape-token-0123456789');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/^# HELP /m);
      expect(res.text).toMatch(/^privacy_log_capture_skipped_total [1-9]/m);
      const accepted = /^privacy_log_\w*accepted\w* (\d+)/m.exec(res.text);
      expect(Number(accepted?.[1])).toBeGreaterThanOrEqual(1);
    });
  });

  describe(`${name}: options`, () => {
    it('rejects a misspelled option with a suggestion', async () => {
      await expect(factory({ sitee: 'x' } as never)).rejects.toMatchObject({
        code: 'PRIVACY_LOG_E_INVALID_OPTION',
        message: expect.stringContaining('Did you mean "site"'),
      });
    });

    it('takes its own asset extensions, API prefixes, search and social hosts', async () => {
      const h = await factory({
        site: 'oblachko',
        capture: {
          assetExtensions: ['x1'],
          apiPrefixes: ['/news/'],
          searchHosts: ['search.example'],
          socialHosts: ['friends.example'],
        },
      });
      try {
        // x1 is an asset now (assets are not forwarded by default); png no longer is, and /news/ is an API.
        await h.check({ path: '/news/a.x1' }, (res, e) => {
          expect(res.status).toBe(200);
          expect(e).toBeUndefined();
        });
        await h.check({ path: '/news/logo.png' }, (_res, e) => expect(e?.kind).toBe('api'));
        await h.check({ path: '/', headers: { referer: 'https://www.search.example/?q=sad' } }, (_res, e) =>
          expect(e?.referrer?.type).toBe('search'),
        );
        await h.check({ path: '/', headers: { referer: 'https://friends.example/feed' } }, (_res, e) =>
          expect(e?.referrer?.type).toBe('social'),
        );
        // The lists replace the defaults.
        await h.check({ path: '/', headers: { referer: 'https://www.google.com/' } }, (_res, e) => {
          expect(e?.referrer?.host).toBeDefined();
          expect(e?.referrer?.type).not.toBe('search');
        });
      } finally {
        await h.close();
      }
    });

    it('rejects malformed capture lists with a coded error', async () => {
      await expect(factory({ capture: { apiPrefixes: ['news'] } })).rejects.toMatchObject({
        code: 'PRIVACY_LOG_E_INVALID_OPTION',
        message: expect.stringContaining('apiPrefixes'),
      });
      await expect(factory({ capture: { searchHost: ['a.example'] } } as never)).rejects.toMatchObject({
        code: 'PRIVACY_LOG_E_INVALID_OPTION',
        message: expect.stringContaining('Did you mean "searchHosts"'),
      });
      await expect(factory({ capture: { socialHosts: [42] } } as never)).rejects.toMatchObject({
        code: 'PRIVACY_LOG_E_INVALID_OPTION',
        message: expect.stringContaining('capture.socialHosts'),
      });
    });
  });
}
