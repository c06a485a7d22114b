/**
 * The page shell: skip link, header with navigation, the consent banner when
 * a choice is due, the page's main content, and the footer with the link that
 * reopens the consent choice.
 */
import { KINDERGARTEN } from '../content/site-info.js';
import { consentBanner, shouldShowBanner } from './banner.js';
import { html, type SafeHtml } from './html.js';
import type { ConsentView } from './privacy-state.js';

export interface PageContent {
  /** The page's own title; the site name is appended. */
  title: string;
  /** The request path: marks the current navigation item, and is where consent forms return. */
  path: string;
  consent: ConsentView;
  main: SafeHtml;
  /** Hide the banner on pages that already show the choice in full. */
  hideBanner?: boolean;
}

const NAV: readonly { href: string; label: string }[] = [
  { href: '/', label: 'Главная' },
  { href: '/news', label: 'Новости' },
  { href: '/documents', label: 'Документы' },
  { href: '/contact', label: 'Обратная связь' },
  { href: '/privacy', label: 'Конфиденциальность' },
];

function isCurrent(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

export function layout(page: PageContent): SafeHtml {
  const showBanner = !page.hideBanner && shouldShowBanner(page.consent);
  return html`<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} — ${KINDERGARTEN.shortName}</title>
<link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#main">Перейти к содержимому</a>
${showBanner ? consentBanner(page.path, page.consent) : ''}
<header class="site-header">
  <div class="wrap site-header__inner">
    <a class="brand" href="/"><img class="brand__logo" src="/static/favicon.svg" alt="" width="40" height="40"><span class="brand__text"><span class="brand__name">«Облачко»</span><span class="brand__sub">детский сад № 139</span></span></a>
    <nav class="nav" aria-label="Основное меню">
      <ul class="nav__list">
        ${NAV.map(
          (item) =>
            html`<li><a class="nav__link" href="${item.href}"${isCurrent(item.href, page.path) ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
        )}
      </ul>
    </nav>
  </div>
</header>
<main id="main" class="wrap main" tabindex="-1">
${page.main}
</main>
<footer class="site-footer">
  <div class="wrap site-footer__inner">
    <p><strong>${KINDERGARTEN.name}</strong><br>${KINDERGARTEN.address} · ${KINDERGARTEN.hours}<br>
      Телефон: <a href="tel:${KINDERGARTEN.phone.replace(/[^+\d]/g, '')}">${KINDERGARTEN.phone}</a> ·
      <a href="mailto:${KINDERGARTEN.email}">${KINDERGARTEN.email}</a></p>
    <ul class="site-footer__links">
      <li><a href="/privacy">Политика конфиденциальности</a></li>
      <li><a href="/privacy/choice" id="consent-settings">Настройки статистики и cookie</a></li>
      <li><a href="/privacy/recorded">Что сайт записал о вашем визите</a></li>
    </ul>
  </div>
</footer>
</body>
</html>`;
}
