/**
 * "Что сайт записал о вашем визите": the event privacy-log recorded for the
 * visitor's previous request, exactly as stored, pretty-printed.
 */
import { html, type SafeHtml } from './html.js';
import type { PrivacyStateView } from './privacy-state.js';

const CONSENT_LABEL = { granted: 'разрешена', denied: 'отклонена', unset: 'выбор не сделан' } as const;
const SOURCE_LABEL = {
  choice: 'ваш выбор',
  gpc: 'сигнал GPC браузера',
  dnt: 'сигнал Do Not Track браузера',
  default: 'настройка по умолчанию',
} as const;

export function recordedPage(state: PrivacyStateView): SafeHtml {
  const { consent, previous } = state;
  return html`<h1>Что сайт записал о вашем визите</h1>
  <p class="lead">Ниже — запись о вашем предыдущем запросе к сайту именно в том виде, в каком она сохранена в журнале статистики.
    В ней нет полного IP-адреса (он сокращён до сети), строки браузера целиком, cookie и содержимого форм.</p>
  <p>Статистика с сессией: <strong>${CONSENT_LABEL[consent.analytics]}</strong> (${SOURCE_LABEL[consent.source]}).
    <a href="/privacy/choice">Изменить выбор</a></p>
  ${
    previous
      ? html`<h2>Запись о запросе ${previous.request.method} ${previous.request.path}</h2>
        <pre class="json" id="recorded-event" tabindex="0" aria-label="Запись журнала в формате JSON">${JSON.stringify(previous, null, 2)}</pre>
        <p class="hint">Адрес <code>${previous.client.address}</code> — это сеть (/${previous.client.prefixLength}), а не ваш адрес: последние биты обнулены в момент записи.</p>`
      : html`<p class="notice" id="recorded-empty">Пока показывать нечего: это ваш первый запрос за последние минуты.
        Откройте любую страницу сайта и вернитесь сюда.</p>`
  }`;
}
