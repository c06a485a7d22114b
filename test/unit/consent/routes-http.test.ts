/**
 * The consent routes behind a real HTTP server (node:http, no framework) and a
 * cookie-keeping client (supertest's agent): the whole grant → session →
 * withdraw round trip as a browser would see it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsent, createConsentRoutes, MAX_CONSENT_BODY_BYTES } from '../../../src/consent/index.js';

const consent = createConsent({ policyVersion: '2025-03' });
const forgotten: string[] = [];
const routes = createConsentRoutes(consent, {
  forget: async (id) => {
    forgotten.push(id);
    return 3;
  },
});

/** Read at most MAX_CONSENT_BODY_BYTES (+1, so an overlong body is still recognised as such). */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const limit = MAX_CONSENT_BODY_BYTES + 1;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    chunks.push(b.subarray(0, limit - size));
    size += b.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

let server: Server;
beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const out = await routes.handle({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body,
      secure: false,
    });
    if (out === undefined) {
      // The app's own page: shows what the consent state says for this request.
      const state = consent.resolve(req.headers.cookie, req.headers['sec-gpc'] as string | undefined, undefined);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ page: req.url, analytics: state.analytics, session: state.sessionId ?? null }));
      return;
    }
    for (const [k, v] of Object.entries(out.headers)) res.setHeader(k, v);
    res.statusCode = out.status;
    res.end(out.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('consent over real HTTP', () => {
  it('grant, browse with a session, withdraw: cookies set, kept, then deleted', async () => {
    const agent = request.agent(server);
    const before = await agent.get('/news');
    expect(before.body).toEqual({ page: '/news', analytics: 'unset', session: null });

    const grant = await agent
      .post('/privacy/consent')
      .type('form')
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ analytics: 'granted', return: '/news' });
    expect(grant.status).toBe(303);
    expect(grant.headers['location']).toBe('/news');
    const set = grant.headers['set-cookie'] as unknown as string[];
    expect(set).toHaveLength(2);
    expect(set.every((c) => c.includes('HttpOnly') && c.includes('SameSite=Lax') && !c.includes('Secure'))).toBe(true);

    const during = await agent.get('/news');
    expect(during.body.analytics).toBe('granted');
    expect(during.body.session).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const state = await agent.get('/privacy/consent');
    expect(state.body).toMatchObject({ analytics: 'granted', source: 'choice', policyVersion: '2025-03' });
    expect(JSON.stringify(state.body)).not.toContain(during.body.session);

    const withdraw = await agent
      .post('/privacy/consent')
      .set('Content-Type', 'application/json')
      .set('Origin', `http://127.0.0.1:${(server.address() as { port: number }).port}`)
      .set('Host', `127.0.0.1:${(server.address() as { port: number }).port}`)
      .send('{"analytics":"withdraw"}');
    expect(withdraw.status).toBe(200);
    expect(withdraw.body).toMatchObject({ analytics: 'unset', askAgain: true, erased: 3 });
    expect(forgotten).toEqual([during.body.session]);

    const after = await agent.get('/news');
    expect(after.body).toEqual({ page: '/news', analytics: 'unset', session: null });
  });

  it('refuses a cross-site form and an overlong body over the wire', async () => {
    const agent = request.agent(server);
    const csrf = await agent
      .post('/privacy/consent')
      .type('form')
      .set('Origin', 'https://evil.example')
      .send({ analytics: 'granted' });
    expect(csrf.status).toBe(403);
    expect(csrf.headers['set-cookie']).toBeUndefined();
    expect((await agent.get('/news')).body.analytics).toBe('unset');

    const big = await agent
      .post('/privacy/consent')
      .type('form')
      .send(`analytics=granted&pad=${'x'.repeat(20_000)}`);
    expect(big.status).toBe(413);
  });

  it('serves /.well-known/gpc.json and leaves other paths to the app', async () => {
    const gpc = await request(server).get('/.well-known/gpc.json');
    expect([gpc.status, gpc.body]).toEqual([200, { gpc: true }]);
    const page = await request(server).get('/privacy');
    expect(page.body.page).toBe('/privacy');
  });
});
