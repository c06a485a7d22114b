/**
 * Headless Chromium from Debian, driven by playwright-core. Outside CI, where
 * /usr/bin/chromium is absent, the suites skip with the reason; with
 * PRIVACY_LOG_REQUIRE_BROWSER=1 (set by .ci/run) the absence fails instead.
 */
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { probeService, type ServiceProbe } from '../../helpers/require-service.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go (git-ignored). */
export const ARTIFACTS_DIR = 'test-artifacts';

export function probeBrowser(): Promise<ServiceProbe> {
  return probeService('BROWSER', async () => {
    try {
      await access(CHROMIUM_PATH, constants.X_OK);
    } catch {
      throw new Error(`${CHROMIUM_PATH} not found (apt-get install chromium)`);
    }
  });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * The User-Agent of this Chromium as a person's browser sends it. Headless Chromium says "HeadlessChrome",
 * which privacy-log rightly classifies as a bot, and bots are left out of the stats.
 */
export function personUserAgent(browser: Browser, device: 'desktop' | 'phone' = 'desktop'): string {
  const major = browser.version().split('.')[0];
  return device === 'phone'
    ? `Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Mobile Safari/537.36`
    : `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
}

/** A fresh context per scenario: no cookies, no cache; Russian locale and a person's browser, like the site's visitors. */
export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    locale: 'ru-RU',
    acceptDownloads: true,
    userAgent: personUserAgent(browser, options.isMobile ? 'phone' : 'desktop'),
    ...options,
  });
  context.setDefaultTimeout(10_000);
  return context;
}

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Inject axe-core into the page and return its serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = (await page.evaluate(async () => {
    // Runs inside the page: `axe` and `document` are the page's globals.
    const g = globalThis as unknown as {
      axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: unknown[] }> };
      document: unknown;
    };
    const result = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return result.violations;
  })) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A readable summary of violations for an assertion message. */
export function describeViolations(url: string, violations: AxeViolation[]): string {
  return violations
    .map((v) => `${url}: [${v.impact}] ${v.id} — ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    .join('\n');
}
