/** Dashboard labels in Russian and English. */
export const LANGS = ['en', 'ru'] as const;
export type Lang = (typeof LANGS)[number];

export interface Labels {
  title: string;
  period: string;
  date: string;
  filters: string;
  timeZone: string;
  apply: string;
  visitors: string;
  pageviews: string;
  downloads: string;
  events: string;
  sessions: string;
  bounce_rate: string;
  visit_duration: string;
  overTime: string;
  none: string;
  /** Shown when every group was folded away by k-anonymity; {n} is the number of groups. */
  hidden: string;
  periods: Record<'day' | '7d' | '30d' | 'month' | '12mo', string>;
  properties: Record<'page' | 'referrer' | 'browser' | 'os' | 'device' | 'isp' | 'domain' | 'download', string>;
  note: string;
  clearFilters: string;
  error: string;
}

export const LABELS: Record<Lang, Labels> = {
  en: {
    title: 'Traffic statistics',
    period: 'Period',
    date: 'Up to day',
    filters: 'Filters',
    timeZone: 'Time zone',
    apply: 'Show',
    visitors: 'Visitors',
    pageviews: 'Pageviews',
    downloads: 'Downloads',
    events: 'Requests',
    sessions: 'Sessions',
    bounce_rate: 'Bounce rate, %',
    visit_duration: 'Visit duration, s',
    overTime: 'Visitors and pageviews over time',
    none: 'No data for this period.',
    hidden: 'Hidden: {n} group(s), each with fewer visitors than the k-anonymity threshold.',
    periods: { day: 'Day', '7d': 'Last 7 days', '30d': 'Last 30 days', month: 'Month', '12mo': 'Last 12 months' },
    properties: {
      page: 'Pages',
      referrer: 'Referrers',
      browser: 'Browsers',
      os: 'Operating systems',
      device: 'Devices',
      isp: 'Internet providers',
      domain: 'Network domains',
      download: 'Downloads',
    },
    note: 'Aggregates only. Groups with fewer visitors or requests than the threshold are folded into (other); bots are not counted. Visitors over several days are visitor-days (the salt changes daily); sessions come from visitors who consented.',
    clearFilters: 'clear filters',
    error: 'Invalid request',
  },
  ru: {
    title: 'Статистика посещений',
    period: 'Период',
    date: 'По день',
    filters: 'Фильтры',
    timeZone: 'Часовой пояс',
    apply: 'Показать',
    visitors: 'Посетители',
    pageviews: 'Просмотры',
    downloads: 'Скачивания',
    events: 'Запросы',
    sessions: 'Сеансы',
    bounce_rate: 'Отказы, %',
    visit_duration: 'Длительность визита, с',
    overTime: 'Посетители и просмотры по времени',
    none: 'За этот период данных нет.',
    hidden: 'Скрыто групп: {n} — в каждой меньше посетителей, чем порог k-анонимности.',
    periods: { day: 'День', '7d': '7 дней', '30d': '30 дней', month: 'Месяц', '12mo': '12 месяцев' },
    properties: {
      page: 'Страницы',
      referrer: 'Источники переходов',
      browser: 'Браузеры',
      os: 'Операционные системы',
      device: 'Устройства',
      isp: 'Интернет-провайдеры',
      domain: 'Сетевые домены',
      download: 'Скачанные файлы',
    },
    note: 'Только обобщённые данные. Группы, в которых посетителей или запросов меньше порога, объединены в (other); боты не учитываются. Посетители за несколько дней считаются по дням (соль меняется ежедневно); сеансы — только посетителей, давших согласие.',
    clearFilters: 'сбросить фильтры',
    error: 'Неверный запрос',
  },
};

/** The dashboard language: an explicit `lang`, else the first of Accept-Language we speak, else English. */
export function pickLang(explicit: string | null, acceptLanguage: string | undefined): Lang {
  if (explicit === 'ru' || explicit === 'en') return explicit;
  for (const part of (acceptLanguage ?? '').slice(0, 256).split(',')) {
    const tag = part.trim().slice(0, 2).toLowerCase();
    if (tag === 'ru' || tag === 'en') return tag;
  }
  return 'en';
}
