/**
 * The policy's technical appendix, generated from `privacy.describe()` — the
 * live configuration of privacy-log — so it can never drift from what the site
 * really records.
 */
import { html, type SafeHtml } from './html.js';

/** The shape of `privacy.describe()` this appendix reads; unknown extra fields are shown in the JSON block. */
export interface DescriptionView {
  site?: string;
  fields?: string[];
  neverCaptured?: string[];
  ip?: { ipv4Prefix?: number; ipv6Prefix?: number };
  trustProxy?: string;
  consent?: {
    policyVersion?: string;
    honorGpc?: boolean;
    honorDnt?: boolean;
    default?: string;
    cookieMaxAgeDays?: number;
    sessionIdleMinutes?: number;
  };
  queryAllowList?: string[];
  downloadExtensions?: string[];
  kinds?: string[];
  enrichment?: { isp?: boolean; domain?: boolean };
  aggregators?: Array<{ name: string } & Record<string, unknown>>;
}

/** Russian wording for the library's field descriptions; anything unknown is shown as given, marked as English. */
const RU: Readonly<Record<string, string>> = {
  'time (request start, UTC, ms)': 'время запроса (UTC, с точностью до миллисекунды)',
  site: 'метка сайта',
  'kind (pageview, download, asset, api, error, other)':
    'вид запроса: просмотр страницы, скачивание файла, ошибка и т. п.',
  'request method, path (secret-looking segments redacted), allow-listed query parameters, route pattern':
    'метод и адрес страницы (похожие на секреты части адреса заменяются), разрешённые параметры запроса',
  'response status, bytes, duration': 'код ответа, размер и время ответа',
  'client address, truncated': 'IP-адрес, сокращённый до сети',
  'internet provider (ISP name and AS number, looked up on the truncated network)':
    'интернет-провайдер (название и номер автономной системы — по сокращённому адресу)',
  'domain name (registrable domain of the PTR name)': 'имя домена провайдера (по обратной записи DNS)',
  'domain name (registrable domain of the reverse-DNS name)': 'имя домена провайдера (по обратной записи DNS)',
  'browser and major version, OS and version, device class, bot flag':
    'браузер и его основная версия, операционная система, тип устройства, признак бота',
  'referrer (host only for other sites; path without query for this site)':
    'источник перехода (для других сайтов — только имя сайта)',
  'downloaded file name and whether it was fully sent': 'имя скачанного файла и был ли он передан полностью',
  'consent state and its source': 'ваш выбор о статистике и его источник',
  'session id (only with analytics consent)': 'идентификатор сессии (только с вашего согласия)',
  'full IP address': 'полный IP-адрес',
  'raw User-Agent': 'полная строка User-Agent браузера',
  'cookies, Authorization and other headers': 'cookie, заголовки авторизации и другие заголовки',
  'request and response bodies, form fields': 'содержимое запросов и ответов, поля форм',
  'query values outside the allow-list': 'значения параметров запроса вне разрешённого списка',
  'any identifier that links visits across days': 'любой идентификатор, связывающий визиты разных дней',
};

function item(text: string): SafeHtml {
  const ru = RU[text];
  return ru ? html`<li>${ru}</li>` : html`<li lang="en">${text}</li>`;
}

const DEFAULT_LABEL: Readonly<Record<string, string>> = {
  unset: 'выбор не сделан (учитывается как отказ)',
  denied: 'отказ',
  granted: 'согласие',
};

function yesNo(v: boolean | undefined): string {
  return v === undefined ? '—' : v ? 'да' : 'нет';
}

/** One place the site keeps data, as the site configured it. */
export interface StorageFact {
  what: string;
  /** Relative to the site's data directory (absolute server paths are not published). */
  where: string;
  keep: string;
}

function storage(f: StorageFact): SafeHtml {
  return html`<tr><td>${f.what}</td><td><code>${f.where}</code></td><td>${f.keep}</td></tr>`;
}

export function technicalAppendix(d: DescriptionView, stored: readonly StorageFact[]): SafeHtml {
  const c = d.consent ?? {};
  return html`<section class="appendix" aria-labelledby="appendix-title">
    <h2 id="appendix-title">Приложение: как это устроено технически</h2>
    <p>Этот раздел формируется автоматически из действующих настроек программы учёта посещений на сайте.</p>
    <h3>Что записывается о каждом запросе</h3>
    <ul>${(d.fields ?? []).map(item)}</ul>
    <h3>Что не записывается никогда</h3>
    <ul>${(d.neverCaptured ?? []).map(item)}</ul>
    <h3>Сокращение IP-адреса</h3>
    <p>Адрес сокращается в момент запроса, до записи: IPv4 — до первых ${d.ip?.ipv4Prefix ?? '—'} бит
      (например, 203.0.113.57 → 203.0.113.0), IPv6 — до первых ${d.ip?.ipv6Prefix ?? '—'} бит. Полный адрес нигде не сохраняется.</p>
    <h3>Согласие и сигналы браузера</h3>
    <dl class="facts-list">
      <dt>Редакция политики</dt><dd>${c.policyVersion ?? '—'}</dd>
      <dt>Сигнал Global Privacy Control (Sec-GPC) соблюдается</dt><dd>${yesNo(c.honorGpc)}</dd>
      <dt>Сигнал Do Not Track соблюдается</dt><dd>${yesNo(c.honorDnt)}</dd>
      <dt>Пока выбор не сделан</dt><dd>${DEFAULT_LABEL[c.default ?? ''] ?? c.default ?? '—'}</dd>
      <dt>Срок хранения cookie с выбором</dt><dd>${c.cookieMaxAgeDays === undefined ? '—' : `${c.cookieMaxAgeDays} дн., не продлевается`}</dd>
      <dt>Сессия (только с согласия)</dt><dd>${c.sessionIdleMinutes === undefined ? '—' : `заканчивается после ${c.sessionIdleMinutes} мин. без действий`}</dd>
    </dl>
    <h3>Параметры адреса, которые сохраняются</h3>
    <p>${(d.queryAllowList ?? []).length > 0 ? (d.queryAllowList ?? []).join(', ') : 'никакие'}; значения остальных параметров отбрасываются.</p>
    <h3>Скачивания</h3>
    <p>Файлы с расширениями ${(d.downloadExtensions ?? []).join(', ') || '—'} учитываются как скачивания.</p>
    <h3>Где и сколько хранятся данные</h3>
    <p>Все данные хранятся на сервере сайта и никуда не передаются. Записи о запросах получают:
      ${(d.aggregators ?? []).map((a) => a.name).join(', ') || '—'}. «Где» — файл или папка в каталоге данных сайта.</p>
    <div class="table-scroll" tabindex="0" role="region" aria-label="Хранение данных">
    <table class="storage">
      <thead><tr><th scope="col">Что</th><th scope="col">Где</th><th scope="col">Срок</th></tr></thead>
      <tbody>${stored.map(storage)}</tbody>
    </table>
    </div>
    <p>Обращения из формы обратной связи хранятся отдельно, в собственной базе сайта, без IP-адреса и не связываются со статистикой.</p>
    <details class="raw-config">
      <summary>Настройки целиком (JSON)</summary>
      <pre class="json" tabindex="0">${JSON.stringify(d, null, 2)}</pre>
    </details>
  </section>`;
}
