/**
 * Scenario 9 of issue #7: every page of the example site, checked by axe-core
 * run inside Chromium, has no serious or critical violation — on a phone-sized
 * and a desktop viewport. Also takes the screenshots reviewers look at
 * (home with the banner, the privacy page, the dashboard) into test-artifacts/.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS_DIR,
  describeViolations,
  launchBrowser,
  newContext,
  probeBrowser,
  seriousA11yViolations,
} from './support/browser.js';
import { type SiteUnderTest, startSite } from './support/site-harness.js';

const browserProbe = await probeBrowser();

const PAGES = [
  '/',
  '/news',
  '/news/osennij-prazdnik',
  '/documents',
  '/contact',
  '/contact/soglasie',
  '/contact/spasibo',
  '/privacy',
  '/privacy/choice',
  '/privacy/recorded',
  '/no-such-page',
];

const VIEWPORTS = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 900 },
} as const;

describe.skipIf(!browserProbe.available)(`accessibility and screenshots (${browserProbe.reason})`, () => {
  let browser: Browser;
  let site: SiteUnderTest;
  const contexts: BrowserContext[] = [];

  async function page(viewport: keyof typeof VIEWPORTS, headers?: Record<string, string>): Promise<Page> {
    // axe is injected as a script: the site's CSP (script-src none) would block it, so the test bypasses CSP.
    const ctx = await newContext(browser, {
      baseURL: site.url,
      viewport: VIEWPORTS[viewport],
      isMobile: viewport === 'phone',
      hasTouch: viewport === 'phone',
      bypassCSP: true,
      ...(headers ? { extraHTTPHeaders: headers } : {}),
    });
    contexts.push(ctx);
    return ctx.newPage();
  }

  beforeAll(async () => {
    [browser, site] = await Promise.all([launchBrowser(), startSite()]);
    await mkdir(ARTIFACTS_DIR, { recursive: true });
  });

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await site?.dispose();
  });

  for (const viewport of Object.keys(VIEWPORTS) as (keyof typeof VIEWPORTS)[]) {
    describe(`9. no serious or critical axe violation (${viewport})`, () => {
      let tab: Page;
      beforeAll(async () => {
        tab = await page(viewport);
      });

      for (const path of PAGES) {
        it(path, async () => {
          await tab.goto(path);
          expect(describeViolations(path, await seriousA11yViolations(tab))).toBe('');
          // Responsive: nothing makes the page scroll sideways, on a phone either.
          const width = await tab.evaluate(() => {
            const root = (
              globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
            ).document.documentElement;
            return { scroll: root.scrollWidth, client: root.clientWidth };
          });
          expect(width.scroll).toBeLessThanOrEqual(width.client);
        });
      }

      it('/contact with validation errors', async () => {
        await tab.goto('/contact');
        await tab.locator('form.form button[type="submit"]').click();
        await tab.waitForSelector('#name-error');
        expect(describeViolations('/contact (with errors)', await seriousA11yViolations(tab))).toBe('');
      });

      it('/ with the GPC notice in the banner', async () => {
        const gpc = await page(viewport, { 'Sec-GPC': '1' });
        await gpc.goto('/');
        expect(await gpc.locator('[data-signal="gpc"]').count()).toBe(1);
        expect(describeViolations('/ (GPC banner)', await seriousA11yViolations(gpc))).toBe('');
      });
    });
  }

  it('9. the stats dashboard has no serious or critical axe violation', async () => {
    const tab = await page('desktop', { Authorization: `Bearer ${site.stats.token}` });
    const response = await tab.goto('/admin/stats');
    expect(response?.status()).toBe(200);
    expect(describeViolations('/admin/stats', await seriousA11yViolations(tab))).toBe('');
  });

  it('takes the screenshots: home with the banner, the privacy page, the dashboard', async () => {
    const shots: string[] = [];
    for (const viewport of Object.keys(VIEWPORTS) as (keyof typeof VIEWPORTS)[]) {
      const tab = await page(viewport);
      await tab.goto('/');
      expect(await tab.locator('#consent-banner').isVisible()).toBe(true);
      shots.push(join(ARTIFACTS_DIR, `home-banner-${viewport}.png`));
      await tab.screenshot({ path: shots.at(-1), fullPage: true });
      await tab.goto('/privacy');
      shots.push(join(ARTIFACTS_DIR, `privacy-${viewport}.png`));
      await tab.screenshot({ path: shots.at(-1), fullPage: true });
    }
    const admin = await page('desktop', { Authorization: `Bearer ${site.stats.token}` });
    await admin.goto('/news');
    await admin.goto('/documents');
    await site.events();
    await admin.goto('/admin/stats');
    shots.push(join(ARTIFACTS_DIR, 'dashboard.png'));
    await admin.screenshot({ path: shots.at(-1), fullPage: true });
    for (const shot of shots) expect((await stat(shot)).size, shot).toBeGreaterThan(10_000);
  });
});
