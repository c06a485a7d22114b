import { formatDateRu, NEWS } from '../content/news.js';
import { KINDERGARTEN } from '../content/site-info.js';
import { html, type SafeHtml } from './html.js';

export function homePage(): SafeHtml {
  return html`<section class="hero" aria-labelledby="home-title">
    <h1 id="home-title">Добро пожаловать в «Облачко»!</h1>
    <p class="lead">${KINDERGARTEN.name} — уютный детский сад для малышей от 1,5 до 7 лет.
      Здесь родители найдут новости, меню, документы и могут написать нам.</p>
    <ul class="facts">
      <li><span class="facts__label">Адрес</span> ${KINDERGARTEN.address}</li>
      <li><span class="facts__label">Часы работы</span> ${KINDERGARTEN.hours}</li>
      <li><span class="facts__label">Телефон</span> ${KINDERGARTEN.phone}</li>
    </ul>
  </section>
  <section aria-labelledby="home-news">
    <h2 id="home-news">Последние новости</h2>
    <ul class="cards">
      ${NEWS.slice(0, 2).map(
        (n) => html`<li class="card">
          <p class="card__date"><time datetime="${n.date}">${formatDateRu(n.date)}</time></p>
          <h3 class="card__title"><a href="/news/${n.slug}">${n.title}</a></h3>
          <p>${n.paragraphs[0]}</p>
        </li>`,
      )}
    </ul>
    <p><a href="/news">Все новости</a></p>
  </section>
  <section aria-labelledby="home-parents">
    <h2 id="home-parents">Родителям</h2>
    <ul class="tiles">
      <li><a class="tile" href="/documents"><span class="tile__title">Меню и документы</span> Меню на месяц, бланк заявления о приёме</a></li>
      <li><a class="tile" href="/contact"><span class="tile__title">Задать вопрос</span> Ответим в течение трёх рабочих дней</a></li>
      <li><a class="tile" href="/privacy"><span class="tile__title">Ваши данные</span> Что и как сайт записывает о посещениях</a></li>
    </ul>
  </section>`;
}
