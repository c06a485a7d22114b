import { FILES_PREFIX, formatSize, type SiteDocument } from '../documents/catalogue.js';
import { html, type SafeHtml } from './html.js';

export function documentsPage(docs: readonly SiteDocument[]): SafeHtml {
  return html`<h1>Документы</h1>
  <p class="lead">Документы для родителей. Файлы открываются в любом просмотрщике PDF или текстовом редакторе.</p>
  <ul class="docs">
    ${docs.map(
      (d) => html`<li class="docs__item">
        <h2 class="docs__title">${d.title}</h2>
        <p>${d.description}</p>
        <p><a class="button button--quiet" href="${FILES_PREFIX}${d.file}" download>Скачать ${d.format}, ${formatSize(d.bytes.length)}<span class="visually-hidden"> — ${d.title}</span></a></p>
      </li>`,
    )}
  </ul>`;
}
