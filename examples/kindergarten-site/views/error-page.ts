import { html, type SafeHtml } from './html.js';

export function notFoundPage(): SafeHtml {
  return html`<h1>Страница не найдена</h1>
  <p class="lead">Такой страницы на сайте нет — возможно, ссылка устарела.</p>
  <p><a href="/">На главную</a> · <a href="/news">Новости</a> · <a href="/documents">Документы</a></p>`;
}

export function serverErrorPage(): SafeHtml {
  return html`<h1>Что-то пошло не так</h1>
  <p class="lead">На сайте произошла ошибка. Попробуйте обновить страницу через минуту.</p>
  <p><a href="/">На главную</a></p>`;
}

export function clientErrorPage(status: number): SafeHtml {
  return html`<h1>Запрос не может быть обработан</h1>
  <p class="lead">Сайт не смог обработать запрос (код ${status}). Проверьте данные и попробуйте ещё раз.</p>
  <p><a href="/">На главную</a></p>`;
}
