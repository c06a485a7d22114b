import { formatDateRu, NEWS, type NewsItem } from '../content/news.js';
import { html, type SafeHtml } from './html.js';

export function newsListPage(): SafeHtml {
  return html`<h1>Новости</h1>
  <ul class="cards cards--list">
    ${NEWS.map(
      (n) => html`<li class="card">
        <p class="card__date"><time datetime="${n.date}">${formatDateRu(n.date)}</time></p>
        <h2 class="card__title"><a href="/news/${n.slug}">${n.title}</a></h2>
        <p>${n.paragraphs[0]}</p>
      </li>`,
    )}
  </ul>`;
}

export function newsItemPage(item: NewsItem): SafeHtml {
  return html`<article class="article">
    <p class="card__date"><time datetime="${item.date}">${formatDateRu(item.date)}</time></p>
    <h1>${item.title}</h1>
    ${item.paragraphs.map((p) => html`<p>${p}</p>`)}
    <p><a href="/news">← Все новости</a></p>
  </article>`;
}

export function findNews(slug: string): NewsItem | undefined {
  return NEWS.find((n) => n.slug === slug);
}
