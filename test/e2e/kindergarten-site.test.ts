/**
 * The example site in a real browser (issue #7): headless Chromium drives the
 * kindergarten site started in-process on a free port with a fresh data
 * directory; every event is checked in the real SQLite file after a flush.
 * JavaScript is off in the consent scenarios: the banner must work without it.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivacyEvent } from '../../src/event.js';
import { httpAggregator } from '../../src/index.js';
import { launchBrowser, newContext, probeBrowser } from './support/browser.js';
import { filesContaining, listFiles, readContacts, type SiteUnderTest, startSite } from './support/site-harness.js';

const browserProbe = await probeBrowser();

const SESSION_COOKIE = 'privacy_session';
const CONSENT_COOKIE = 'privacy_consent';

function last(events: PrivacyEvent[], match: (e: PrivacyEvent) => boolean): PrivacyEvent {
  const found = events.filter(match).at(-1);
  if (!found)
    throw new Error(`no stored event matches; stored: ${events.map((e) => `${e.kind} ${e.request.path}`).join(', ')}`);
  return found;
}

/** A page view of `path` requested at or after `since` (ISO time): each scenario only looks at its own requests. */
const pageview = (path: string, since: string) => (e: PrivacyEvent) =>
  e.kind === 'pageview' && e.request.path === path && e.time >= since;

describe.skipIf(!browserProbe.available)(`kindergarten site in Chromium (${browserProbe.reason})`, () => {
  let browser: Browser;
  let site: SiteUnderTest;
  const contexts: BrowserContext[] = [];

  async function context(options: Parameters<typeof newContext>[1] = {}): Promise<BrowserContext> {
    const c = await newContext(browser, { baseURL: site.url, ...options });
    contexts.push(c);
    return c;
  }

  beforeAll(async () => {
    [browser, site] = await Promise.all([launchBrowser(), startSite()]);
  });

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await site?.dispose();
  });

  it('1. shows the banner on the first visit, and the home page sets no session cookie', async () => {
    const page = await (await context({ javaScriptEnabled: false })).newPage();
    const response = await page.goto('/');
    expect(response?.status()).toBe(200);
    await expect(page.locator('#consent-banner').isVisible()).resolves.toBe(true);
    const buttons = page.locator('#consent-banner button');
    expect(await buttons.allTextContents()).toEqual(['Принять', 'Отказаться']);
    // Equal weight: the same element, the same class, the same rendered size and colours.
    const styles = await buttons.evaluateAll((els) => {
      // Runs inside the page, where getComputedStyle is a global.
      type Styled = { className: string; getBoundingClientRect(): { height: number; width: number } };
      const computed = (
        globalThis as unknown as {
          getComputedStyle(el: unknown): {
            backgroundColor: string;
            color: string;
            fontWeight: string;
            fontSize: string;
          };
        }
      ).getComputedStyle;
      return (els as unknown as Styled[]).map((el) => {
        const s = computed(el);
        const r = el.getBoundingClientRect();
        return {
          cls: el.className,
          bg: s.backgroundColor,
          color: s.color,
          weight: s.fontWeight,
          size: s.fontSize,
          h: r.height,
          w: r.width,
        };
      });
    });
    expect(styles[0]).toEqual(styles[1]);
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => c.name)).not.toContain(SESSION_COOKIE);
    expect(response?.headers()['set-cookie'] ?? '').not.toContain(SESSION_COOKIE);
  });

  it('2. refusing sets no session cookie; the next page view is denied by choice, without a session', async () => {
    const since = new Date().toISOString();
    const page = await (await context({ javaScriptEnabled: false })).newPage();
    await page.goto('/news');
    await page.locator('#consent-banner button[value="denied"]').click();
    await page.waitForURL('**/news');
    expect(await page.locator('#consent-banner').count()).toBe(0);
    const names = (await page.context().cookies()).map((c) => c.name);
    expect(names).toContain(CONSENT_COOKIE);
    expect(names).not.toContain(SESSION_COOKIE);

    await page.goto('/documents');
    const event = last(await site.events(pageview('/documents', since)), pageview('/documents', since));
    expect(event.consent).toMatchObject({ analytics: 'denied', source: 'choice' });
    expect(event.session).toBeUndefined();
  });

  it('3. accepting sets the session cookie, and the next events carry that session', async () => {
    const since = new Date().toISOString();
    const ctx = await context({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto('/');
    await page.locator('#consent-banner button[value="granted"]').click();
    await page.waitForURL(`${site.url}/`);
    expect(await page.locator('#consent-banner').count()).toBe(0);
    const session = (await ctx.cookies()).find((c) => c.name === SESSION_COOKIE);
    expect(session?.value).toBeTruthy();
    expect(session?.httpOnly).toBe(true);

    await page.goto('/news');
    await page.goto('/contact');
    const events = await site.events(pageview('/contact', since));
    const news = last(events, pageview('/news', since));
    const contact = last(events, pageview('/contact', since));
    expect(news.consent).toMatchObject({ analytics: 'granted', source: 'choice' });
    expect(news.session?.id).toBeTruthy();
    expect(contact.session?.id).toBe(news.session?.id);
    expect(session?.value).toContain(news.session?.id as string);
  });

  it('4. a browser sending Sec-GPC: 1 is recorded as denied by gpc, and the banner says so', async () => {
    const since = new Date().toISOString();
    const ctx = await context({ javaScriptEnabled: false, extraHTTPHeaders: { 'Sec-GPC': '1' } });
    const page = await ctx.newPage();
    await page.goto('/news');
    const signal = page.locator('#consent-banner [data-signal="gpc"]');
    await expect(signal.isVisible()).resolves.toBe(true);
    expect(await signal.textContent()).toContain('Global Privacy Control');

    const event = last(await site.events(pageview('/news', since)), pageview('/news', since));
    expect(event.consent).toMatchObject({ analytics: 'denied', source: 'gpc' });
    expect(event.session).toBeUndefined();
    expect((await ctx.cookies()).map((c) => c.name)).not.toContain(SESSION_COOKIE);
  });

  it('5. downloading the PDF menu is recorded as a complete download', async () => {
    const since = new Date().toISOString();
    const page = await (await context()).newPage();
    await page.goto('/documents');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('a[href="/files/menu-2026-11.pdf"]').click(),
    ]);
    const saved = await download.path();
    const bytes = await readFile(saved);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(download.suggestedFilename()).toBe('menu-2026-11.pdf');

    const isDownload = (e: PrivacyEvent) => e.kind === 'download' && e.time >= since;
    const event = last(await site.events(isDownload), isDownload);
    expect(event.request.path).toBe('/files/menu-2026-11.pdf');
    expect(event.download).toMatchObject({ complete: true });
    expect(event.download?.file).toContain('menu-2026-11.pdf');
    expect(event.response.bytes).toBe(bytes.length);
  });

  it('6. the contact form stores the submission; no event, log line or spool file contains what was typed', async () => {
    const since = new Date().toISOString();
    const page = await (await context()).newPage();
    await page.goto('/contact');

    // Validation errors beside the fields.
    await page.locator('form.form button[type="submit"]').click();
    expect(await page.locator('#name-error').textContent()).toContain('Укажите');
    expect(await page.locator('#phone-error').isVisible()).toBe(true);
    expect(await page.locator('#message-error').isVisible()).toBe(true);
    expect(await page.locator('#pdConsent-error').isVisible()).toBe(true);
    expect(await page.locator('#name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#name').getAttribute('aria-describedby')).toContain('name-error');

    const typed = {
      name: 'Анна Тестовна Кузнецова-Щ7',
      phone: '+7 913 555-21-87',
      email: 'anna.e2e.q7@example.org',
      message: 'Подскажите, пожалуйста, есть ли места в группе «Капелька»? Код проверки: ЖУК-4821',
    };
    await page.fill('#name', typed.name);
    await page.fill('#phone', typed.phone);
    await page.fill('#email', typed.email);
    await page.fill('#message', typed.message);
    await page.check('#pd_consent');
    await page.locator('form.form button[type="submit"]').click();
    await page.waitForURL('**/contact/spasibo');
    expect(await page.locator('h1').textContent()).toBe('Спасибо!');

    const { columns, rows } = readContacts(site.dataDir);
    expect(columns.filter((c) => /ip|addr|agent|host/i.test(c))).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ ...typed, pd_consent_version: expect.any(String) });

    const isPost = (e: PrivacyEvent) => e.request.method === 'POST' && e.request.path === '/contact' && e.time >= since;
    const events = await site.events(pageview('/contact/spasibo', since));
    const post = last(events, isPost);
    expect(post.request.query).toBeUndefined();
    const needles = [
      typed.name,
      'Кузнецова',
      typed.phone,
      '913 555',
      '9135552187',
      typed.email,
      'ЖУК-4821',
      'Капелька»? Код',
    ];
    const storedText = JSON.stringify(events);
    for (const n of needles) expect(storedText).not.toContain(n);
    expect(site.logLines.join('\n')).not.toMatch(/Кузнецова|ЖУК-4821|anna\.e2e/);
    // The operator's access log is among the files checked, and it did record the POST — path only.
    const accessLog = (await listFiles(join(site.dataDir, 'logs'))).map((f) => join(site.dataDir, 'logs', f));
    expect(accessLog.length).toBeGreaterThan(0);
    const logText = (await Promise.all(accessLog.map((f) => readFile(f, 'utf8')))).join('');
    expect(logText).toMatch(/"POST \/contact HTTP\/1\.1" 303 /);
    // Every file the site and privacy-log wrote — the events database and its WAL, the spool — except the contact store itself.
    const hits = await filesContaining(site.dataDir, needles, (rel) => rel.startsWith('contacts.db'));
    expect(hits).toEqual([]);
    // The check can fail: the contact store itself does contain them.
    const own = await filesContaining(site.dataDir, [typed.email], (rel) => !rel.startsWith('contacts.db'));
    expect(own.length).toBeGreaterThan(0);
  });

  it('7. the dashboard answers 401 without the token, and shows the test visits with it', async () => {
    const since = new Date().toISOString();
    const anonymous = await context();
    const denied = await anonymous.request.get('/admin/stats');
    expect(denied.status()).toBe(401);
    expect(denied.headers()['www-authenticate']).toMatch(/Basic/);
    expect(await denied.text()).not.toMatch(/pageviews|просмотр/i);
    const wrong = await anonymous.request.get('/admin/stats', {
      headers: { Authorization: 'Bearer not-the-token-at-all' },
    });
    expect(wrong.status()).toBe(401);

    // Visits of this test, then everything stored so far, flushed and counted before the dashboard is asked.
    const visitor = await (await context()).newPage();
    for (const path of ['/', '/news', '/documents', '/contact', '/privacy', '/news/menyu-noyabr'])
      await visitor.goto(path);
    const stored = (await site.events(pageview('/news/menyu-noyabr', since))).filter(
      (e) => e.kind === 'pageview',
    ).length;
    expect(stored).toBeGreaterThanOrEqual(6);

    // The browser login: user "admin", the token as the password.
    const ctx = await context({ httpCredentials: { username: 'admin', password: site.stats.token } });
    const page = await ctx.newPage();
    const ok = await page.goto('/admin/stats');
    expect(ok?.status()).toBe(200);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, as a person reads it
    const text = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
    expect(text).toContain(String(stored));

    // Scripts use the bearer token with the JSON API; it counts the same page views (the dashboard's own view included now).
    const storedNow = (await site.events()).filter((e) => e.kind === 'pageview').length;
    expect(storedNow).toBeGreaterThanOrEqual(stored);
    const api = await anonymous.request.get('/admin/stats/api/aggregate?period=day&metrics=pageviews', {
      headers: { Authorization: `Bearer ${site.stats.token}` },
    });
    expect(api.status()).toBe(200);
    expect(JSON.stringify(await api.json())).toContain(`"pageviews":${storedNow}`);
  });

  it('8. "what we recorded" shows the previous event exactly as stored, with a truncated address', async () => {
    const ctx = await context({ extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.77' } });
    const page = await ctx.newPage();
    await page.goto('/news/osennij-prazdnik');
    await page.goto('/privacy/recorded');
    const shown = (await page.locator('#recorded-event').textContent()) ?? '';
    expect(shown).toContain('203.0.113.0');
    expect(shown).not.toContain('203.0.113.77');
    expect(shown).not.toContain('127.0.0.1');
    const event = JSON.parse(shown) as PrivacyEvent;
    expect(event.request.path).toBe('/news/osennij-prazdnik');
    expect(event.client).toMatchObject({ address: '203.0.113.0', prefixLength: 24 });
    const stored = (await site.events((e) => e.id === event.id)).find((e) => e.id === event.id);
    expect(stored).toEqual(event);
    expect(await page.content()).not.toContain('203.0.113.77');
  });

  it('records the 404 and 500 pages, in the site style, as error events', async () => {
    const since = new Date().toISOString();
    const page = await (await context()).newPage();
    const missing = await page.goto('/net-takoj-stranicy');
    expect(missing?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Страница не найдена');
    expect(await page.locator('nav[aria-label="Основное меню"]').count()).toBe(1);
    const broken = await page.goto('/debug/error');
    expect(broken?.status()).toBe(500);
    expect(await page.locator('h1').textContent()).toBe('Что-то пошло не так');
    expect(await page.content()).not.toContain('deliberate');
    expect(site.logLines.join('\n')).toContain('GET /debug/error failed');

    // An oversized contact form is refused in the site's style, and the refusal is counted, body unseen.
    const huge = await page.request.post('/contact', {
      form: { name: 'Огромный', message: 'Щ'.repeat(40_000), pd_consent: 'yes' },
    });
    expect(huge.status()).toBe(413);
    expect(await huge.text()).toContain('Запрос не может быть обработан');

    const refused = (e: PrivacyEvent) =>
      e.request.method === 'POST' && e.request.path === '/contact' && e.time >= since;
    const events = await site.events(refused);
    expect(last(events, refused)).toMatchObject({ kind: 'error', response: { status: 413 } });
    expect(JSON.stringify(events)).not.toContain('ЩЩЩ');
    expect(last(events, (e) => e.request.path === '/net-takoj-stranicy')).toMatchObject({
      kind: 'error',
      response: { status: 404 },
    });
    expect(last(events, (e) => e.request.path === '/debug/error')).toMatchObject({
      kind: 'error',
      response: { status: 500 },
    });
  });

  it('the footer link reopens the choice, and withdrawing is as easy as consenting', async () => {
    const since = new Date().toISOString();
    const ctx = await context({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto('/');
    await page.locator('#consent-banner button[value="granted"]').click();
    await page.waitForURL(`${site.url}/`);
    const sessionId = (await ctx.cookies()).find((c) => c.name === SESSION_COOKIE)?.value;
    expect(sessionId).toBeTruthy();

    await page.locator('#consent-settings').click();
    await page.waitForURL('**/privacy/choice');
    expect(await page.locator('#consent-state').textContent()).toContain('Вы разрешили');
    const inSession = (e: PrivacyEvent) => e.session?.id !== undefined && sessionId?.includes(e.session.id) === true;
    expect((await site.events(pageview('/privacy/choice', since))).filter(inSession).length).toBeGreaterThanOrEqual(2);

    await page.locator('button[value="withdraw"]').click();
    await page.waitForURL('**/privacy/choice');
    expect((await ctx.cookies()).map((c) => c.name)).not.toContain(SESSION_COOKIE);
    await page.goto('/news');
    const events = await site.events(pageview('/news', since));
    const event = last(events, pageview('/news', since));
    expect(event.session).toBeUndefined();
    expect(event.consent.analytics).not.toBe('granted');
    // Withdrawal erased what was stored under that session.
    expect(events.filter(inSession)).toEqual([]);
  });
});

describe.skipIf(!browserProbe.available)(`policy version change (${browserProbe.reason})`, () => {
  it('brings the banner back when the policy version changes', async () => {
    const browser = await launchBrowser();
    const first = await startSite({ policyVersion: '2026-11' });
    let second: SiteUnderTest | undefined;
    try {
      const ctx = await newContext(browser, { javaScriptEnabled: false });
      const page = await ctx.newPage();
      await page.goto(`${first.url}/`);
      await page.locator('#consent-banner button[value="denied"]').click();
      await page.waitForURL(`${first.url}/`);
      expect(await page.locator('#consent-banner').count()).toBe(0);
      await first.close();

      // Same data directory, same browser profile (cookies are per host, not per port), new policy version.
      second = await startSite({ dataDir: first.dataDir, policyVersion: '2027-01' });
      await page.goto(`${second.url}/`);
      await expect(page.locator('#consent-banner').isVisible()).resolves.toBe(true);
      expect(await page.locator('#consent-banner').textContent()).toContain('2027-01');
      await ctx.close();
    } finally {
      await browser.close();
      await second?.close();
      await first.dispose();
    }
  });
});

describe.skipIf(!browserProbe.available)(`contact form while a store is down (${browserProbe.reason})`, () => {
  it('6. spooled events hold nothing that was typed into the form', async () => {
    // A central collector that is down: a real httpAggregator aimed at a loopback port nobody listens on.
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const collector = httpAggregator({
      url: `http://127.0.0.1:${port}/collect`,
      token: 'collector-token-0123456789',
      name: 'collector',
    });

    const browser = await launchBrowser();
    const site = await startSite({ aggregators: [collector] });
    try {
      const page = await (await newContext(browser, { baseURL: site.url })).newPage();
      await page.goto('/contact');
      await page.fill('#name', 'Пётр Спулов-Ю3');
      await page.fill('#email', 'petr.spool.y3@example.org');
      await page.fill('#message', 'Сообщение для проверки очереди: ЁЖИК-7731');
      await page.check('#pd_consent');
      await page.locator('form.form button[type="submit"]').click();
      await page.waitForURL('**/contact/spasibo');
      await browser.close();
      // The collector cannot take the events before the deadline: close() spools them for the next start.
      await site.close({ timeoutMs: 1500 });

      const spool = join(site.dataDir, 'spool');
      const spooled = await listFiles(spool);
      expect(spooled.length).toBeGreaterThan(0);
      // The spool is readable to this check: it does hold the form's path…
      expect(await filesContaining(spool, ['/contact/spasibo'], () => false)).not.toEqual([]);
      // …and none of what was typed.
      const needles = ['Спулов', 'petr.spool.y3@example.org', 'ЁЖИК-7731', 'проверки очереди'];
      expect(await filesContaining(site.dataDir, needles, (rel) => rel.startsWith('contacts.db'))).toEqual([]);
      expect(readContacts(site.dataDir).rows).toHaveLength(1);
      // The failing collector was reported in the site's log — without any of it either.
      expect(site.logLines.length).toBeGreaterThan(0);
      expect(site.logLines.join('\n')).not.toMatch(/Спулов|petr\.spool|ЁЖИК|очереди/);
    } finally {
      await browser.close().catch(() => undefined);
      await site.dispose();
    }
  });
});
