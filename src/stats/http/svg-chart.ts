/**
 * A server-rendered SVG line chart: no script, no external resource. Every
 * label is escaped; numbers are formatted here.
 */
import { escapeHtml } from './html.js';

export interface ChartSeries {
  label: string;
  color: string;
  values: readonly number[];
}

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Accessible title of the chart. */
  title: string;
}

const PAD = { left: 48, right: 12, top: 12, bottom: 36 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * @example
 * lineChart(['2026-03-01', '2026-03-02'], [{ label: 'Visitors', color: '#2563eb', values: [3, 5] }], { title: 'Visitors' });
 */
export function lineChart(labels: readonly string[], series: readonly ChartSeries[], o: ChartOptions): string {
  const width = o.width ?? 760;
  const height = o.height ?? 240;
  const w = width - PAD.left - PAD.right;
  const h = height - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const n = Math.max(1, labels.length - 1);
  const x = (i: number) => PAD.left + (labels.length === 1 ? w / 2 : (i / n) * w);
  const y = (v: number) => PAD.top + h - (v / max) * h;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<title>${escapeHtml(o.title)}</title>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${yy}" y2="${yy}" stroke="#e5e7eb"/>`,
      `<text x="${PAD.left - 6}" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#6b7280">${escapeHtml(Number.isInteger(v) ? v : v.toFixed(1))}</text>`,
    );
  }
  const step = Math.max(1, Math.ceil(labels.length / 8));
  const last = labels.length - 1;
  labels.forEach((label, i) => {
    // Every step-th label and the last one; a step label too close to the last is dropped so they never overlap.
    if (i !== last && (i % step !== 0 || last - i < step / 2 + 1)) return;
    out.push(
      `<text x="${x(i).toFixed(1)}" y="${height - PAD.bottom + 16}" font-size="11" text-anchor="middle" fill="#6b7280">${escapeHtml(label)}</text>`,
    );
  });
  for (const s of series) {
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${escapeHtml(s.color)}" stroke-width="2" points="${pts}"/>`);
    s.values.forEach((v, i) => {
      out.push(
        `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${escapeHtml(s.color)}"><title>${escapeHtml(`${labels[i]}: ${s.label} ${v}`)}</title></circle>`,
      );
    });
  }
  series.forEach((s, i) => {
    const lx = PAD.left + i * 140;
    out.push(
      `<rect x="${lx}" y="${height - 14}" width="10" height="10" fill="${escapeHtml(s.color)}"/>`,
      `<text x="${lx + 14}" y="${height - 5}" font-size="12" fill="#111827">${escapeHtml(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
