/**
 * The site of МБУ детский сад № 139 «Облачко», wired to privacy-log: every
 * request is captured (anonymized at capture, tagged with consent) into SQLite;
 * the consent banner posts to privacy-log's routes; the admin dashboard is
 * privacy-log's statsRoutes behind a token; contact-form submissions go to the
 * site's own SQLite file, never into any event or log.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Router } from '@koa/router';
import Koa, { type Context } from 'koa';
import { koaBody } from 'koa-body';
import { type PrivacyLogMiddleware, privacyLog, statsRoutes } from '../../middleware/koa.js';
import type { Aggregator } from '../../src/aggregators/aggregator.js';
import { assertKnownKeys, type PrivacyLogError } from '../../src/errors.js';
import { createPipeline, sqliteAggregator, winstonAggregator } from '../../src/index.js';
import { type ContactStore, DEFAULT_CONTACT_RETENTION_DAYS, openContactStore } from './contact/contact-store.js';
import { validateContact } from './contact/validate-contact.js';
import { PD_CONSENT_VERSION } from './content/pd-consent.js';
import { FILES_PREFIX, loadDocuments } from './documents/catalogue.js';
import { loadStatsToken, type StatsToken } from './stats-token.js';
import { choicePage } from './views/choice-page.js';
import { contactPage, contactThanksPage, pdConsentPage } from './views/contact-page.js';
import { documentsPage } from './views/documents-page.js';
import { clientErrorPage, notFoundPage, serverErrorPage } from './views/error-page.js';
import { homePage } from './views/home-page.js';
import type { SafeHtml } from './views/html.js';
import { layout } from './views/layout.js';
import { findNews, newsItemPage, newsListPage } from './views/news-page.js';
import { loadPolicy } from './views/policy-text.js';
import { privacyPage } from './views/privacy-page.js';
import { privacyStateOf } from './views/privacy-state.js';
import { recordedPage } from './views/recorded-page.js';
import type { StorageFact } from './views/technical-appendix.js';

export const DEFAULT_PORT = 3000;
export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_POLICY_VERSION = '2026-11';
export const SITE_LABEL = 'oblachko';
export const STATS_PREFIX = '/admin/stats';
/** The browser login of the dashboard: this user name, and the stats token as the password. */
export const STATS_USER = 'admin';
/** Day boundaries of the dashboard. */
export const STATS_TIME_ZONE = 'Europe/Moscow';
export const PRIVACY_DB_FILE = 'privacy-log.db';
export const CONTACTS_DB_FILE = 'contacts.db';
/** The operator's access log (Apache combined format, anonymized), one file a day. */
export const LOGS_DIR = 'logs';
export const SPOOL_DIR = 'spool';
/** Raw events are deleted after this many days; the daily rollups and visitor sketches outlive them. */
export const EVENT_RETENTION_DAYS = 30;
export const ROLLUP_RETENTION_MONTHS = 25;
export const ACCESS_LOG_RETENTION_DAYS = 30;

/** Where the site keeps what, for the policy's technical appendix. */
const STORAGE: readonly StorageFact[] = [
  {
    what: 'Обезличенные записи о запросах',
    where: PRIVACY_DB_FILE,
    keep: `${EVENT_RETENTION_DAYS} дней, затем удаляются`,
  },
  {
    what: 'Сводные счётчики по дням и эскизы для подсчёта числа посетителей (без адресов и идентификаторов)',
    where: PRIVACY_DB_FILE,
    keep: `${ROLLUP_RETENTION_MONTHS} месяцев`,
  },
  {
    what: 'Случайная «соль» дня для подсчёта посетителей',
    where: PRIVACY_DB_FILE,
    keep: 'текущий и предыдущий день, затем удаляется',
  },
  {
    what: 'Журнал доступа администратора (те же обезличенные записи, формат Apache combined)',
    where: `${LOGS_DIR}/`,
    keep: `${ACCESS_LOG_RETENTION_DAYS} дней`,
  },
  {
    what: 'Очередь записей, ожидающих сохранения (обычно пуста)',
    where: `${SPOOL_DIR}/`,
    keep: 'до сохранения',
  },
  {
    what: 'Обращения из формы обратной связи (отдельно от статистики, без IP-адреса)',
    where: CONTACTS_DB_FILE,
    keep: `до ответа, не более ${DEFAULT_CONTACT_RETENTION_DAYS} дней`,
  },
];
/** How long in-flight requests may take to finish on close before their connections are cut. */
export const SHUTDOWN_GRACE_MS = 5000;
/** Largest contact form accepted. */
export const CONTACT_FORM_LIMIT = '16kb';

export interface SiteOptions {
  /** Where the privacy-log database, the contact database and the stats token live. Default './data'. */
  dataDir?: string;
  /** Port to listen on; 0 picks a free one. Default 3000. */
  port?: number;
  /** Interface to listen on. Default: all interfaces. */
  host?: string;
  /** The dashboard token. Default: generated on first start into `<dataDir>/stats-token`. */
  statsToken?: string;
  /** The privacy policy's version: changing it brings the consent banner back. Default '2026-11'. */
  policyVersion?: string;
  /** More aggregators beside the SQLite store and the access log, e.g. an httpAggregator to a central collector. */
  aggregators?: Aggregator[];
  /** Mount GET /debug/error, which throws, to show the 500 page. Default false. */
  debugRoutes?: boolean;
  /** Receives operational lines (server errors, privacy-log errors). Default: console.error. */
  log?: (line: string) => void;
}

const SITE_OPTION_KEYS = [
  'dataDir',
  'port',
  'host',
  'statsToken',
  'policyVersion',
  'aggregators',
  'debugRoutes',
  'log',
] as const;

export interface Site {
  app: Koa;
  server: Server;
  /** http://localhost:PORT (or the host given). */
  url: string;
  port: number;
  dataDir: string;
  stats: StatsToken;
  privacy: PrivacyLogMiddleware;
  contacts: ContactStore;
  /**
   * Stop accepting requests, let in-flight ones finish, flush and close the pipeline (what a store cannot take
   * within `timeoutMs` is spooled and replayed on the next start), close the contact store. Idempotent.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

function readStatic(name: string): Buffer {
  return readFileSync(new URL(`./static/${name}`, import.meta.url));
}

function httpStatusOf(err: unknown): number {
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599 ? s : 500;
}

/**
 * Build and start the site.
 *
 * @example
 * const site = await createSite({ dataDir: await mkdtemp(join(tmpdir(), 'oblachko-')), port: 0, host: '127.0.0.1' });
 * console.log(site.url);
 * await site.close();
 */
export async function createSite(options: SiteOptions = {}): Promise<Site> {
  assertKnownKeys(options, SITE_OPTION_KEYS, 'createSite()');
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const log = options.log ?? ((line: string) => console.error(line));
  mkdirSync(dataDir, { recursive: true });

  const stats = loadStatsToken(dataDir, options.statsToken);
  const documents = loadDocuments();
  const policy = loadPolicy();
  const css = readStatic('site.css');
  const favicon = readStatic('favicon.svg');

  const reportError = (err: PrivacyLogError) => log(`privacy-log: ${err.code}: ${err.message}`);
  // Events go to SQLite (stats, the dashboard) and, as Apache "combined" lines, to a daily access log
  // for the operator; both only ever see the anonymized event. The spool lives in the data directory too.
  const pipeline = createPipeline({
    aggregators: [
      sqliteAggregator({
        file: join(dataDir, PRIVACY_DB_FILE),
        retentionDays: EVENT_RETENTION_DAYS,
        rollupRetentionMonths: ROLLUP_RETENTION_MONTHS,
      }),
      winstonAggregator({
        name: 'access-log',
        format: 'combined',
        transports: [{ type: 'file', dir: join(dataDir, LOGS_DIR), maxFiles: `${ACCESS_LOG_RETENTION_DAYS}d` }],
      }),
      ...(options.aggregators ?? []),
    ],
    spool: { dir: join(dataDir, SPOOL_DIR) },
    onError: reportError,
  });
  const privacy = privacyLog({
    site: SITE_LABEL,
    trustProxy: 'loopback',
    pipeline,
    consent: { policyVersion: options.policyVersion ?? DEFAULT_POLICY_VERSION },
    capture: {
      downloadExtensions: documents.map((d) => d.file.slice(d.file.lastIndexOf('.') + 1)),
      rememberPrevious: true,
    },
    onError: reportError,
  });
  const contacts = openContactStore(join(dataDir, CONTACTS_DB_FILE));

  function render(ctx: Context, title: string, main: SafeHtml, opts: { status?: number; hideBanner?: boolean } = {}) {
    const { consent } = privacyStateOf(ctx.state);
    ctx.status = opts.status ?? 200;
    ctx.set(PAGE_HEADERS);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = layout({ title, path: ctx.path, consent, main, hideBanner: opts.hideBanner }).value;
  }

  const router = new Router();
  router.get('/', (ctx) => render(ctx, 'Главная', homePage()));
  router.get('/news', (ctx) => render(ctx, 'Новости', newsListPage()));
  router.get('/news/:slug', (ctx, next) => {
    const item = findNews(ctx.params.slug ?? '');
    if (!item) return next();
    render(ctx, item.title, newsItemPage(item));
  });
  router.get('/documents', (ctx) => render(ctx, 'Документы', documentsPage(documents)));
  router.get(`${FILES_PREFIX}:file`, (ctx, next) => {
    const doc = documents.find((d) => d.file === ctx.params.file);
    if (!doc) return next();
    ctx.set('Content-Disposition', `attachment; filename="${doc.file}"`);
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = doc.contentType;
    ctx.body = doc.bytes;
  });
  router.get('/contact', (ctx) => render(ctx, 'Обратная связь', contactPage()));
  router.post(
    '/contact',
    koaBody({ urlencoded: true, json: false, text: false, multipart: false, formLimit: CONTACT_FORM_LIMIT }),
    (ctx) => {
      const result = validateContact((ctx.request.body ?? {}) as Record<string, unknown>);
      if (!result.ok) {
        render(ctx, 'Обратная связь: проверьте форму', contactPage(result.values, result.errors), { status: 422 });
        return;
      }
      contacts.add({ ...result.submission, pdConsentVersion: PD_CONSENT_VERSION });
      ctx.status = 303;
      ctx.redirect('/contact/spasibo');
    },
  );
  router.get('/contact/spasibo', (ctx) => render(ctx, 'Обращение принято', contactThanksPage()));
  router.get('/contact/soglasie', (ctx) => render(ctx, 'Согласие на обработку персональных данных', pdConsentPage()));
  router.get('/privacy', (ctx) =>
    render(ctx, 'Политика конфиденциальности', privacyPage(policy, privacy.describe(), STORAGE)),
  );
  router.get('/privacy/choice', (ctx) =>
    render(ctx, 'Настройки статистики и cookie', choicePage(ctx.path, privacyStateOf(ctx.state).consent), {
      hideBanner: true,
    }),
  );
  router.get('/privacy/recorded', (ctx) =>
    render(ctx, 'Что сайт записал о вашем визите', recordedPage(privacyStateOf(ctx.state))),
  );
  router.get('/static/site.css', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = css;
  });
  router.get('/static/favicon.svg', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.type = 'image/svg+xml';
    ctx.body = favicon;
  });
  if (options.debugRoutes) {
    router.get('/debug/error', () => {
      throw new Error('debug route: a deliberate server error');
    });
  }

  const app = new Koa();
  app.use(privacy); // outermost: it sees the final status of every response, error pages included
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) render(ctx, 'Страница не найдена', notFoundPage(), { status: 404 });
    } catch (err) {
      const status = httpStatusOf(err);
      if (status >= 500) {
        // The path only (never the query or body), and the error's own message.
        log(`site: ${ctx.method} ${ctx.path} failed: ${err instanceof Error ? err.message : String(err)}`);
        render(ctx, 'Ошибка сервера', serverErrorPage(), { status });
      } else if (status === 404) {
        render(ctx, 'Страница не найдена', notFoundPage(), { status });
      } else {
        render(ctx, 'Ошибка запроса', clientErrorPage(status), { status });
      }
    }
  });
  app.use(privacy.routes());
  app.use(
    statsRoutes({
      source: privacy.stats,
      prefix: STATS_PREFIX,
      site: SITE_LABEL,
      timeZone: STATS_TIME_ZONE,
      // The site is Russian: so is its dashboard, whatever language the browser prefers.
      locale: 'ru',
      // A bearer token for scripts, and the same token as the password of a browser login.
      auth: { token: stats.token, basic: { username: STATS_USER, password: stats.token } },
    }),
  );
  app.use(router.routes());
  app.use(router.allowedMethods());

  const server = app.listen(options.port ?? DEFAULT_PORT, options.host);
  try {
    await new Promise<void>((ok, fail) => {
      server.once('listening', ok);
      server.once('error', fail);
    });
  } catch (err) {
    // Nothing was served: release the stores before reporting (e.g. EADDRINUSE).
    await privacy.close().catch(() => undefined);
    contacts.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = !options.host || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (opts?: { timeoutMs?: number }) =>
    (closing ??= (async () => {
      await new Promise<void>((ok) => {
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          ok();
        });
        server.closeIdleConnections();
      });
      try {
        await privacy.close(opts);
      } finally {
        contacts.close();
      }
    })());

  return { app, server, url, port, dataDir, stats, privacy, contacts, close };
}
