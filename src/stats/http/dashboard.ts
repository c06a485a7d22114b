/**
 * The stats dashboard: one server-rendered HTML page (inline CSS, SVG charts,
 * a GET form), so it needs no JavaScript and no external resource. Every
 * dynamic string is escaped.
 */
import { type Filter, PERIODS, type StatsResult, type StatsRow } from '../query.js';
import { escapeHtml } from './html.js';
import { LABELS, type Labels, type Lang } from './i18n.js';
import { lineChart } from './svg-chart.js';

export const DASHBOARD_PROPERTIES = [
  'page',
  'referrer',
  'browser',
  'os',
  'device',
  'isp',
  'domain',
  'download',
] as const;
export type DashboardProperty = (typeof DASHBOARD_PROPERTIES)[number];

export const SUMMARY_METRICS = [
  'visitors',
  'pageviews',
  'downloads',
  'sessions',
  'bounce_rate',
  'visit_duration',
] as const;

export interface DashboardData {
  lang: Lang;
  /** The page's own path (links and the form point at it). */
  path: string;
  params: URLSearchParams;
  filters: readonly Filter[];
  aggregate: StatsResult;
  timeseries: StatsResult;
  breakdowns: Record<DashboardProperty, StatsResult>;
}

const CSS = `body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:1080px;margin:0 auto;padding:16px}h1{font-size:22px;margin:8px 0 16px}h2{font-size:16px;margin:0 0 8px}
form{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;margin-bottom:16px}label{display:flex;flex-direction:column;font-size:13px;color:#374151}
input,select,button{font:inherit;padding:4px 6px}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px;margin-bottom:16px}
.card,.panel{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:10px}.card b{display:block;font-size:22px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px;margin-top:12px}
table{width:100%;border-collapse:collapse;font-size:14px}td,th{padding:3px 4px;border-bottom:1px solid #f3f4f6;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td a{color:#1d4ed8;word-break:break-all}.note{color:#6b7280;font-size:13px}
.filters a{margin-left:8px}`;

function withParams(path: string, params: URLSearchParams, change: Record<string, string | undefined>): string {
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) p.delete(k);
    else p.set(k, v);
  }
  const qs = p.toString();
  return qs ? `${path}?${qs}` : path;
}

function filterString(filters: readonly Filter[]): string {
  return filters.map((f) => `${f.property}${f.op}${f.value}`).join(';');
}

function number(n: number | undefined, lang: Lang): string {
  return (n ?? 0).toLocaleString(lang === 'ru' ? 'ru-RU' : 'en-US');
}

function table(data: DashboardData, property: DashboardProperty, L: Labels): string {
  const rows: StatsRow[] = data.breakdowns[property].results;
  const hidden = data.breakdowns[property].suppressed ?? 0;
  const empty = hidden > 0 ? L.hidden.replace('{n}', String(hidden)) : L.none;
  const head = `<tr><th>${escapeHtml(L.properties[property])}</th><th class="n">${escapeHtml(L.visitors)}</th><th class="n">${escapeHtml(property === 'download' ? L.downloads : L.pageviews)}</th></tr>`;
  const body =
    rows.length === 0
      ? `<tr><td colspan="3" class="note">${escapeHtml(empty)}</td></tr>`
      : rows
          .map((r) => {
            const value = r.value ?? '';
            const count = property === 'download' ? r.downloads : r.pageviews;
            const cell =
              value === '(other)'
                ? escapeHtml(value)
                : `<a href="${escapeHtml(
                    withParams(data.path, data.params, {
                      filters: filterString([...data.filters, { property, op: '==', value }]),
                    }),
                  )}">${escapeHtml(value)}</a>`;
            return `<tr><td>${cell}</td><td class="n">${number(r.visitors, data.lang)}</td><td class="n">${number(count, data.lang)}</td></tr>`;
          })
          .join('');
  return `<section class="panel"><h2>${escapeHtml(L.properties[property])}</h2><table>${head}${body}</table></section>`;
}

/**
 * @example
 * const html = renderDashboard({ lang: 'ru', path: '/admin/stats', params, filters, aggregate, timeseries, breakdowns });
 */
export function renderDashboard(data: DashboardData): string {
  const L = LABELS[data.lang];
  const total = data.aggregate.results[0] ?? {};
  const period = data.params.get('period') ?? '30d';
  const cards = SUMMARY_METRICS.map(
    (m) => `<div class="card">${escapeHtml(L[m])}<b>${number(total[m], data.lang)}</b></div>`,
  ).join('');
  const ts = data.timeseries.results;
  const chart = lineChart(
    ts.map((r) => r.date ?? ''),
    [
      ...(ts.some((r) => r.visitors !== undefined)
        ? [{ label: L.visitors, color: '#2563eb', values: ts.map((r) => r.visitors ?? 0) }]
        : []),
      { label: L.pageviews, color: '#16a34a', values: ts.map((r) => r.pageviews ?? 0) },
    ],
    { title: L.overTime },
  );
  const options = PERIODS.filter((p) => p !== 'custom')
    .map(
      (p) =>
        `<option value="${p}"${p === period ? ' selected' : ''}>${escapeHtml(L.periods[p as keyof Labels['periods']])}</option>`,
    )
    .join('');
  const filters = filterString(data.filters);
  const clear = filters
    ? `<span class="filters">${escapeHtml(filters)}<a href="${escapeHtml(withParams(data.path, data.params, { filters: undefined }))}">${escapeHtml(L.clearFilters)}</a></span>`
    : '';
  return `<!doctype html>
<html lang="${data.lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(L.title)}</title><style>${CSS}</style></head>
<body><main><h1>${escapeHtml(L.title)}</h1>
<form method="get" action="${escapeHtml(data.path)}">
<label>${escapeHtml(L.period)}<select name="period">${options}</select></label>
<label>${escapeHtml(L.date)}<input type="date" name="date" value="${escapeHtml(data.params.get('date') ?? '')}"></label>
<label>${escapeHtml(L.timeZone)}<input name="timeZone" value="${escapeHtml(data.params.get('timeZone') ?? '')}" placeholder="Europe/Moscow" size="16"></label>
<label>${escapeHtml(L.filters)}<input name="filters" value="${escapeHtml(filters)}" placeholder="page==/news" size="28"></label>
<input type="hidden" name="lang" value="${data.lang}">
<button type="submit">${escapeHtml(L.apply)}</button>${clear}
</form>
<div class="cards">${cards}</div>
<section class="panel"><h2>${escapeHtml(L.overTime)}</h2>${chart}</section>
<div class="grid">${DASHBOARD_PROPERTIES.map((p) => table(data, p, L)).join('')}</div>
<p class="note">${escapeHtml(L.note)}</p>
</main></body></html>`;
}

/** A small error page (400) for the dashboard. */
export function renderDashboardError(lang: Lang, message: string): string {
  const L = LABELS[lang];
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(L.error)}</title><style>${CSS}</style></head><body><main><h1>${escapeHtml(L.error)}</h1><p>${escapeHtml(message)}</p></main></body></html>`;
}
