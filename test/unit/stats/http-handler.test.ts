import { describe, expect, it } from 'vitest';
import { memoryAggregator } from '../../../src/aggregators/memory-aggregator.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { createStatsHandler, type StatsRequest } from '../../../src/stats/http/handler.js';
import type { StatsSource } from '../../../src/stats/query.js';
import { makeEvent, sketchUpdatesFor } from '../../conformance/dataset.js';

const TOKEN = 'test-token-0123456789';
const BASIC = { username: 'admin', password: 'correct horse battery' };
const bearer = { authorization: `Bearer ${TOKEN}` };
const basicHeader = { authorization: `Basic ${Buffer.from(`${BASIC.username}:${BASIC.password}`).toString('base64')}` };

async function source() {
  const m = memoryAggregator();
  const events = Array.from({ length: 12 }, (_, i) =>
    makeEvent({
      time: `2026-03-10T1${i % 10}:00:00.000Z`,
      path: i % 2 ? '/новости' : '/<script>alert(1)</script>',
      browser: 'Firefox',
    }),
  );
  await m.write({
    events,
    sketches: sketchUpdatesFor(
      events,
      events.map((_, i) => `v${i}`),
    ),
  });
  return m;
}

function req(path: string, query = '', headers: StatsRequest['headers'] = bearer, method = 'GET'): StatsRequest {
  return { method, path, query, headers };
}

describe('createStatsHandler', () => {
  it('requires auth options, a source, and rejects misspelled keys', () => {
    const s = memoryAggregator();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isPrivacyLogError(e) ? e.code : 'uncoded';
      }
      return undefined;
    };
    expect(code(() => createStatsHandler({ source: s }))).toBe('PRIVACY_LOG_E_INVALID_OPTION');
    expect(code(() => createStatsHandler({ source: s, auth: {} }))).toBe('PRIVACY_LOG_E_INVALID_OPTION');
    expect(code(() => createStatsHandler({ source: s, auth: { token: 'short' } }))).toBe(
      'PRIVACY_LOG_E_INVALID_OPTION',
    );
    expect(code(() => createStatsHandler({ auth: { token: TOKEN } }))).toBe('PRIVACY_LOG_E_INVALID_OPTION');
    expect(() => createStatsHandler({ source: s, auth: { token: TOKEN }, prefx: '/x' } as never)).toThrow(
      /Did you mean "prefix"/,
    );
  });

  it('passes through paths outside the prefix', async () => {
    const h = createStatsHandler({ source: await source(), prefix: '/admin/stats', auth: { token: TOKEN } });
    expect(await h.handle(req('/admin/statsx'))).toBeUndefined();
    expect(await h.handle(req('/'))).toBeUndefined();
  });

  it('answers 401 with a challenge without valid credentials, for every route', async () => {
    const h = createStatsHandler({ source: await source(), auth: { token: TOKEN, basic: BASIC } });
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` },
      { authorization: 'Basic !!!' },
      { authorization: TOKEN },
      { authorization: `Digest ${TOKEN}` },
    ]) {
      for (const path of ['/stats', '/stats/', '/stats/api/aggregate', '/stats/nope']) {
        const r = await h.handle(req(path, 'period=7d', headers));
        expect(r?.status).toBe(401);
        expect(r?.headers['www-authenticate']).toContain('Basic realm=');
        expect(r?.body).not.toContain('visitors');
      }
    }
  });

  it('takes a locale for the dashboard: it wins over Accept-Language, ?lang= still wins over it', async () => {
    const src = await source();
    const page = async (h: ReturnType<typeof createStatsHandler>, query: string, lang?: string) =>
      (await h.handle(req('/stats/', query, { ...bearer, ...(lang ? { 'accept-language': lang } : {}) })))!.body;
    const ru = createStatsHandler({ source: src, auth: { token: TOKEN }, locale: 'ru' });
    expect(await page(ru, '', 'en-GB,en;q=0.9')).toContain('<html lang="ru"');
    expect(await page(ru, '')).toContain('Статистика посещений');
    expect(await page(ru, 'lang=en', 'ru')).toContain('<html lang="en"');
    const en = createStatsHandler({ source: src, auth: { token: TOKEN }, locale: 'en' });
    expect(await page(en, '', 'ru-RU,ru')).toContain('Traffic statistics');
    // Without the option, as before: from Accept-Language.
    const auto = createStatsHandler({ source: src, auth: { token: TOKEN } });
    expect(await page(auto, '', 'ru-RU,ru')).toContain('<html lang="ru"');
    expect(await page(auto, '', 'en-US')).toContain('<html lang="en"');
  });

  it('validates the locale, with a suggestion for a near miss', async () => {
    const src = await source();
    const err = (locale: unknown) => {
      try {
        createStatsHandler({ source: src, auth: { token: TOKEN }, locale } as never);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    for (const bad of ['RU', 'rus', 'fr', '', 7, null])
      expect(isPrivacyLogError(err(bad), 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    expect((err('RU') as Error).message).toContain("did you mean 'ru'");
    expect((err('eng') as Error).message).toContain("did you mean 'en'");
    expect((err('fr') as Error).message).toContain("one of 'en', 'ru'");
    expect(err('ru')).toBeUndefined();
  });

  it('serves the JSON API with a token or Basic credentials', async () => {
    const h = createStatsHandler({ source: await source(), auth: { token: TOKEN, basic: BASIC } });
    for (const headers of [bearer, basicHeader]) {
      const r = await h.handle(
        req('/stats/api/aggregate', 'period=day&date=2026-03-10&metrics=pageviews,visitors', headers),
      );
      expect(r?.status).toBe(200);
      expect(r?.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(r!.body).results).toEqual([{ pageviews: 12, visitors: 12 }]);
    }
    const b = await h.handle(
      req('/stats/api/breakdown', 'period=day&date=2026-03-10&property=page&metrics=pageviews&k=5'),
    );
    expect(
      JSON.parse(b!.body)
        .results.map((x: { value: string }) => x.value)
        .sort(),
    ).toEqual(['/<script>alert(1)</script>', '/новости']);
    const t = await h.handle(
      req(
        '/stats/api/timeseries',
        'period=day&date=2026-03-10&metrics=pageviews&filters=browser%3D%3DFirefox&timeZone=Europe%2FMoscow',
      ),
    );
    expect(JSON.parse(t!.body).results).toHaveLength(24);
  });

  it('answers 400 naming the valid choices for bad input, never 500', async () => {
    const h = createStatsHandler({ source: await source(), auth: { token: TOKEN } });
    const cases: Array<[string, string, string]> = [
      ['aggregate', 'metrics=visiters', 'visitors'],
      ['aggregate', 'period=week', '12mo'],
      ['breakdown', 'property=browsr&metrics=pageviews', 'browser'],
      ['aggregate', 'filters=pgae==/x', 'page'],
      ['aggregate', 'filters=page=/x', 'operator'],
      ['aggregate', 'perod=7d', 'period'],
      ['aggregate', 'k=1', 'k-anonymity'],
      ['aggregate', 'k=abc', 'whole number'],
      ['aggregate', 'period=7d&period=30d', 'more than once'],
      ['aggregate', 'timeZone=Nowhere%2FLand', 'IANA'],
      ['timeseries', 'period=day&metrics=visitors', 'per day'],
      ['aggregate', 'includeBots=maybe', 'includeBots'],
      ['aggregate', 'date=2026-13-01', 'YYYY-MM-DD'],
    ];
    for (const [type, qs, hint] of cases) {
      const r = await h.handle(req(`/stats/api/${type}`, qs));
      expect(r?.status, qs).toBe(400);
      const body = JSON.parse(r!.body);
      expect(body.error.code).toBe('PRIVACY_LOG_E_INVALID_QUERY');
      expect(body.error.message).toContain(hint);
    }
    expect((await h.handle(req('/stats/api/pie')))?.status).toBe(404);
    expect((await h.handle(req('/stats/api/aggregate', '', bearer, 'POST')))?.status).toBe(405);
  });

  it('answers 503, not 500, when the store fails, without leaking the cause', async () => {
    const broken: StatsSource = {
      query: async () => {
        throw new Error('disk I/O error at /secret/path');
      },
    };
    const h = createStatsHandler({ source: broken, auth: { token: TOKEN } });
    const r = await h.handle(req('/stats/api/aggregate', 'period=7d'));
    expect(r?.status).toBe(503);
    expect(r?.body).not.toContain('/secret/path');
    const d = await h.handle(req('/stats/'));
    expect(d?.status).toBe(503);
    expect(d?.headers['content-type']).toContain('text/html');
  });

  it('restricts a site-bound handler to its site', async () => {
    const h = createStatsHandler({ source: await source(), auth: { token: TOKEN }, site: 'oblachko' });
    expect((await h.handle(req('/stats/api/aggregate', 'site=other.example')))?.status).toBe(400);
    expect((await h.handle(req('/stats/api/aggregate', 'site=oblachko&period=day&date=2026-03-10')))?.status).toBe(200);
  });

  it('renders the dashboard: SVG chart, tables, escaped values, no script, no external resource', async () => {
    const h = createStatsHandler({ source: await source(), auth: { basic: BASIC }, prefix: '/admin/stats' });
    const r = await h.handle(req('/admin/stats', 'period=7d&date=2026-03-10&lang=ru', basicHeader));
    expect(r?.status).toBe(200);
    expect(r?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r?.headers['content-security-policy']).toContain("default-src 'none'");
    const html = r!.body;
    expect(html).toContain('<svg');
    expect(html).toContain('<polyline');
    expect(html).toContain('Статистика посещений');
    expect(html).toContain('/новости');
    expect(html).toContain('/&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const en = await h.handle(
      req('/admin/stats/', 'period=day&date=2026-03-10', { ...basicHeader, 'accept-language': 'en-GB' }),
    );
    expect(en?.body).toContain('Traffic statistics');
    const bad = await h.handle(req('/admin/stats/', 'filters=<b>==x', basicHeader));
    expect(bad?.status).toBe(400);
    expect(bad?.body).not.toContain('<b>');
  });
});

describe('dashboard under k-anonymity', () => {
  it('says how many groups were hidden instead of "no data"', async () => {
    const m = memoryAggregator();
    const events = Array.from({ length: 6 }, (_, i) =>
      makeEvent({ time: `2026-03-10T1${i}:00:00.000Z`, path: '/only-two-visitors', browser: 'Firefox' }),
    );
    await m.write({
      events,
      sketches: sketchUpdatesFor(
        events,
        events.map((_, i) => `v${i % 2}`),
      ),
    });
    const h = createStatsHandler({ source: m, prefix: '/admin/stats', auth: { token: TOKEN } });
    const res = await h.handle(
      req('/admin/stats', 'period=custom&from=2026-03-10&to=2026-03-10', { ...bearer, 'accept-language': 'en' }),
    );
    expect(res?.status).toBe(200);
    expect(res?.body).toContain('Hidden: 1 group(s)');
    expect(res?.body).not.toContain('/only-two-visitors');
  });
});
