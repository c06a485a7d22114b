/**
 * Regenerates documents/files/menu-2026-11.pdf, the menu the site offers for
 * download, by printing a small HTML table with headless Chromium. The PDF is
 * committed; the site only serves it. Run: npx tsx examples/kindergarten-site/documents/make-menu-pdf.ts
 */
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { KINDERGARTEN } from '../content/site-info.js';
import { escapeHtml } from '../views/html.js';

const DAYS: readonly [string, string, string, string][] = [
  ['Понедельник', 'Каша овсяная молочная, чай', 'Суп овощной, котлета, пюре, компот', 'Запеканка творожная, кефир'],
  ['Вторник', 'Омлет, хлеб с маслом, какао', 'Щи, рыба тушёная, рис, кисель', 'Блинчики, молоко'],
  ['Среда', 'Каша гречневая, чай с молоком', 'Борщ, тефтели, макароны, компот', 'Ватрушка, ряженка'],
  ['Четверг', 'Каша манная, бутерброд с сыром', 'Суп гороховый, плов, сок', 'Оладьи, йогурт'],
  ['Пятница', 'Сырники, какао', 'Рассольник, курица, овощи, компот', 'Пирожок с яблоком, молоко'],
];

const page = `<!doctype html><html lang="ru"><meta charset="utf-8"><style>
body{font-family:'DejaVu Sans',sans-serif;font-size:11pt;margin:0}
h1{font-size:15pt;margin:0 0 4pt}p{margin:0 0 10pt}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #555;padding:4pt;text-align:left;vertical-align:top}
</style><h1>Меню на ноябрь 2026 года</h1><p>${escapeHtml(KINDERGARTEN.name)}</p>
<table><tr><th>День</th><th>Завтрак</th><th>Обед</th><th>Полдник</th></tr>
${DAYS.map((d) => `<tr>${d.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}
</table></html>`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
try {
  const tab = await browser.newPage();
  await tab.setContent(page);
  const pdf = await tab.pdf({
    format: 'A4',
    landscape: true,
    margin: { top: '15mm', bottom: '15mm', left: '15mm', right: '15mm' },
  });
  const out = new URL('./files/menu-2026-11.pdf', import.meta.url);
  writeFileSync(out, pdf);
  console.log(`wrote ${out.pathname} (${pdf.length} bytes)`);
} finally {
  await browser.close();
}
