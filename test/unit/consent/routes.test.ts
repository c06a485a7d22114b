import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeConsentCookie } from '../../../src/consent/cookie-codec.js';
import {
  type ConsentRequest,
  type ConsentResponse,
  createConsent,
  createConsentRoutes,
} from '../../../src/consent/index.js';
import { ERROR_CODES, isPrivacyLogError } from '../../../src/errors.js';

const HOST = 'kindergarten.example';
const consent = createConsent({ policyVersion: '2025-03' });

function req(over: Partial<ConsentRequest> & { headers?: ConsentRequest['headers'] } = {}): ConsentRequest {
  return { method: 'GET', path: '/privacy/consent', secure: true, ...over, headers: { host: HOST, ...over.headers } };
}

function form(body: string, headers: ConsentRequest['headers'] = {}): ConsentRequest {
  return req({
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: `https://${HOST}`,
      'sec-fetch-site': 'same-origin',
      ...headers,
    },
  });
}

function jsonPost(body: string, headers: ConsentRequest['headers'] = {}): ConsentRequest {
  return req({
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', origin: `https://${HOST}`, ...headers },
  });
}

function setCookies(res: ConsentResponse | undefined): string[] {
  const v = res?.headers['set-cookie'];
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** The Cookie header a browser would send after storing these Set-Cookie values. */
function browserCookies(set: string[]): string {
  return set
    .map((v) => v.slice(0, v.indexOf(';')))
    .filter((pair) => !pair.endsWith('='))
    .join('; ');
}

function body(res: ConsentResponse | undefined): Record<string, unknown> {
  return JSON.parse(res?.body ?? 'null') as Record<string, unknown>;
}

describe('consent routes', () => {
  const routes = createConsentRoutes(consent, {});

  it('returns undefined for paths it does not own', async () => {
    for (const path of [
      '/',
      '/privacy',
      '/privacy/consent/x',
      '/privacy/consentx',
      '/other/consent',
      '/.well-known/gpc',
    ]) {
      expect(await routes.handle(req({ path })), path).toBeUndefined();
    }
  });

  it('GET shows the state as JSON, without the session id', async () => {
    const res = await routes.handle(req({ headers: { 'sec-gpc': '1' } }));
    expect(res?.status).toBe(200);
    expect(res?.headers['content-type']).toMatch(/^application\/json/);
    expect(res?.headers['cache-control']).toBe('no-store');
    expect(body(res)).toEqual({
      analytics: 'denied',
      source: 'gpc',
      policyVersion: '2025-03',
      gpc: true,
      dnt: false,
      askAgain: true,
    });
    const granted = browserCookies(consent.choiceCookies(true, { secure: true }));
    const after = body(await routes.handle(req({ path: '/privacy/consent?x=1', headers: { cookie: granted } })));
    expect(after['analytics']).toBe('granted');
    expect(after['sessionId']).toBeUndefined();
    expect(JSON.stringify(after)).not.toContain(granted.split('privacy_session=')[1] as string);
  });

  it('a form POST records the choice and redirects back with 303', async () => {
    const res = await routes.handle(form('analytics=granted&return=%2Fabout%3Ftab%3D2'));
    expect(res?.status).toBe(303);
    expect(res?.headers['location']).toBe('/about?tab=2');
    const set = setCookies(res);
    expect(set).toHaveLength(2);
    expect(decodeConsentCookie(set[0]?.split(';')[0]?.split('=')[1] ?? '')?.analytics).toBe(true);
    expect(set[1]).toMatch(
      /^privacy_session=[A-Za-z0-9_-]{22}; Max-Age=1800; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
    );
    const state = consent.resolve(browserCookies(set), undefined, undefined);
    expect([state.analytics, state.source]).toEqual(['granted', 'choice']);
  });

  it('redirects to the same-site Referer path when there is no return, else to /', async () => {
    const viaReferer = await routes.handle(form('analytics=denied', { referer: `https://${HOST}/news/1?page=2` }));
    expect(viaReferer?.headers['location']).toBe('/news/1?page=2');
    const foreign = await routes.handle(form('analytics=denied', { referer: 'https://evil.example/phish' }));
    expect(foreign?.headers['location']).toBe('/');
    expect(setCookies(foreign)[1]).toMatch(/^privacy_session=; Max-Age=0/);
  });

  it('refuses open redirects', async () => {
    for (const target of [
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      '/%0a/x'.replace('%0a', '\n'),
      'javascript:alert(1)',
      'evil.example',
      ' /x',
    ]) {
      const res = await routes.handle(form(`analytics=granted&return=${encodeURIComponent(target)}`));
      expect(res?.status, target).toBe(303);
      expect(res?.headers['location'], target).toBe('/');
    }
  });

  it('a JSON POST gets the new state', async () => {
    const res = await routes.handle(jsonPost('{"analytics":"denied"}', { dnt: '1' }));
    expect(res?.status).toBe(200);
    expect(body(res)).toMatchObject({ analytics: 'denied', source: 'choice', askAgain: false, dnt: true });
    expect(body(res)['decidedAt']).toBe(new Date().toISOString().slice(0, 10));
    const granted = await routes.handle(jsonPost('{"analytics":true}'));
    expect(body(granted)).toMatchObject({ analytics: 'granted', source: 'choice' });
    expect(body(granted)['sessionId']).toBeUndefined();
    expect(setCookies(granted)).toHaveLength(2);
  });

  it('refuses cross-site POSTs (CSRF) and changes nothing', async () => {
    const attempts: ConsentRequest['headers'][] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'none' },
      { 'sec-fetch-site': undefined, origin: 'https://evil.example' },
      { 'sec-fetch-site': undefined, origin: 'null' },
      { 'sec-fetch-site': undefined, origin: `http://${HOST}` }, // plain-HTTP origin posting to an HTTPS site
      { 'sec-fetch-site': undefined, origin: `https://${HOST}.evil.example` },
    ];
    for (const h of attempts) {
      const res = await routes.handle(form('analytics=granted', h));
      expect(res?.status, JSON.stringify(h)).toBe(403);
      expect(body(res)['error']).toBe('cross_site');
      expect(setCookies(res)).toHaveLength(0);
    }
  });

  it('allows same-origin POSTs by Origin alone, and non-browser clients without Origin', async () => {
    const byOrigin = await routes.handle(form('analytics=granted', { 'sec-fetch-site': undefined }));
    expect(byOrigin?.status).toBe(303);
    const plain = await routes.handle(
      req({
        method: 'POST',
        secure: false,
        body: 'analytics=denied',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(plain?.status).toBe(303);
    const httpSite = await routes.handle({
      ...form('analytics=denied', { 'sec-fetch-site': undefined, origin: `http://${HOST}` }),
      secure: false,
    });
    expect(httpSite?.status).toBe(303);
  });

  it('answers bad bodies with 400/413/415 and a reason', async () => {
    const cases: Array<[ConsentRequest, number, RegExp]> = [
      [form(''), 400, /missing field/],
      [form('analytics=maybe'), 400, /granted, denied, withdraw/],
      [form('analytics=granted&analytics=denied'), 400, /more than once/],
      [form('analytics=granted&return=/a&return=/b'), 400, /more than once/],
      [jsonPost('{'), 400, /not valid JSON/],
      [jsonPost('[1]'), 400, /JSON object/],
      [jsonPost('{"analytics":"yes"}'), 400, /granted, denied, withdraw/],
      [jsonPost('null'), 400, /JSON object/],
      [form(`analytics=granted&pad=${'x'.repeat(9000)}`), 413, /8192/],
      [
        req({ method: 'POST', body: 'analytics=granted', headers: { 'content-type': 'text/plain' } }),
        415,
        /Content-Type/,
      ],
      [req({ method: 'POST', body: 'analytics=granted' }), 415, /Content-Type/],
    ];
    for (const [r, status, reason] of cases) {
      const res = await routes.handle(r);
      expect(res?.status, r.body?.slice(0, 40)).toBe(status);
      expect(body(res)['reason']).toMatch(reason);
      expect(setCookies(res)).toHaveLength(0);
    }
  });

  it('survives adapter mistakes: a non-string body or header array', async () => {
    const res = await routes.handle({ ...form(''), body: 42 as never });
    expect(res?.status).toBe(400);
    const arr = await routes.handle(req({ headers: { cookie: ['a=1', 'b=2'], 'sec-gpc': ['1'] } }));
    expect(body(arr)['source']).toBe('gpc');
    expect(await routes.handle(null as never)).toBeUndefined();
  });

  it('answers other methods with 405 and Allow', async () => {
    const res = await routes.handle(req({ method: 'DELETE' }));
    expect([res?.status, res?.headers['allow']]).toEqual([405, 'GET, HEAD, POST']);
    const gpc = await routes.handle(req({ method: 'POST', path: '/.well-known/gpc.json' }));
    expect([gpc?.status, gpc?.headers['allow']]).toEqual([405, 'GET, HEAD']);
    const head = await routes.handle(req({ method: 'HEAD' }));
    expect([head?.status, head?.body]).toEqual([200, '']);
  });

  it('never throws on hostile requests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'get', 'BREW'),
        fc.constantFrom('/privacy/consent', '/.well-known/gpc.json', '/x'),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.dictionary(
          fc.constantFrom('content-type', 'origin', 'sec-fetch-site', 'cookie', 'referer', 'host', 'sec-gpc', 'dnt'),
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 60 }),
            fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
          ),
        ),
        fc.boolean(),
        async (method, path, text, headers, secure) => {
          const res = await routes.handle({ method, path, body: text, headers, secure });
          if (res !== undefined) expect([200, 303, 400, 403, 405, 413, 415]).toContain(res.status);
          if (path === '/x') expect(res).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('withdrawal', () => {
  it('clears both cookies and erases the session through forget()', async () => {
    const forgotten: string[] = [];
    const routes = createConsentRoutes(consent, {
      forget: async (id) => {
        forgotten.push(id);
        return 7;
      },
    });
    const granted = consent.choiceCookies(true, { secure: true });
    const cookie = browserCookies(granted);
    const sessionId = consent.resolve(cookie, undefined, undefined).sessionId;
    expect(sessionId).toBeDefined();
    const res = await routes.handle(jsonPost('{"analytics":"withdraw"}', { cookie }));
    expect(res?.status).toBe(200);
    expect(forgotten).toEqual([sessionId]);
    expect(body(res)).toMatchObject({ analytics: 'unset', source: 'default', askAgain: true, erased: 7 });
    expect(setCookies(res)).toEqual(consent.clearCookies(true));
    const viaForm = await routes.handle(form('analytics=withdraw&return=/privacy', { cookie }));
    expect([viaForm?.status, viaForm?.headers['location']]).toEqual([303, '/privacy']);
    expect(forgotten).toHaveLength(2);
  });

  it('keeps the cookies and says so when erasing fails, so the visitor can retry', async () => {
    const routes = createConsentRoutes(consent, {
      forget: async () => {
        throw new Error('database is down');
      },
    });
    const cookie = browserCookies(consent.choiceCookies(true, { secure: true }));
    const res = await routes.handle(jsonPost('{"analytics":"withdraw"}', { cookie }));
    expect(res?.status).toBe(503);
    expect(setCookies(res)).toHaveLength(0);
    expect(res?.body).not.toContain('database is down');
  });

  it('clears cookies without calling forget when there is no valid session', async () => {
    let calls = 0;
    const routes = createConsentRoutes(consent, {
      forget: async () => {
        calls++;
        return 0;
      },
    });
    const res = await routes.handle(form('analytics=withdraw', { cookie: 'privacy_session=forged' }));
    expect(res?.status).toBe(303);
    expect(calls).toBe(0);
    expect(setCookies(res)).toEqual(consent.clearCookies(true));
  });
});

describe('/.well-known/gpc.json', () => {
  it('declares GPC support, with lastUpdate when configured', async () => {
    const plain = await createConsentRoutes(consent, {}).handle(req({ path: '/.well-known/gpc.json' }));
    expect(plain?.status).toBe(200);
    expect(JSON.parse(plain?.body ?? '')).toEqual({ gpc: true });
    const dated = await createConsentRoutes(consent, {}, { gpcLastUpdate: '2025-03-01' }).handle(
      req({ path: '/.well-known/gpc.json' }),
    );
    expect(dated?.body).toBe('{"gpc":true,"lastUpdate":"2025-03-01"}');
    const off = await createConsentRoutes(createConsent({ honorGpc: false }), {}).handle(
      req({ path: '/.well-known/gpc.json' }),
    );
    expect(JSON.parse(off?.body ?? '')).toEqual({ gpc: false });
  });

  it('serves the consent route under a custom prefix', async () => {
    const routes = createConsentRoutes(consent, {}, { prefix: '/legal/privacy' });
    expect((await routes.handle(req({ path: '/legal/privacy/consent' })))?.status).toBe(200);
    expect(await routes.handle(req({ path: '/privacy/consent' }))).toBeUndefined();
  });

  it('validates its options once, with coded errors', () => {
    const bad: Array<() => unknown> = [
      () => createConsentRoutes(consent, {}, { prefix: 'privacy' }),
      () => createConsentRoutes(consent, {}, { prefix: '/privacy/' }),
      () => createConsentRoutes(consent, {}, { gpcLastUpdate: '2025-02-30' }),
      () => createConsentRoutes(consent, { forget: 'x' as unknown as () => Promise<number> }),
      () => createConsentRoutes({} as typeof consent, {}),
    ];
    for (const f of bad) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isPrivacyLogError(e, ERROR_CODES.INVALID_OPTION)).toBe(true);
      }
    }
    expect(() => createConsentRoutes(consent, {}, { prefx: '/p' } as never)).toThrow(/Did you mean "prefix"/);
    expect(() => createConsentRoutes(consent, { forgett: async () => 0 } as never)).toThrow(/Did you mean "forget"/);
  });
});
