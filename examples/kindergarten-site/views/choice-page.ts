/** The page the footer link opens: the current consent state and the same choice as the banner, plus withdrawal. */
import { choiceForm, signalNotice } from './banner.js';
import { html, type SafeHtml } from './html.js';
import type { ConsentView } from './privacy-state.js';

function stateSentence(c: ConsentView): SafeHtml {
  if (c.analytics === 'granted')
    return html`Вы разрешили объединять ваши просмотры в сессию (cookie на 30 минут). Отозвать согласие так же просто, как дать его.`;
  if (c.source === 'choice')
    return html`Вы отказались: ваши визиты учитываются только обезличенно, без сессии и без cookie сессии.`;
  if (c.source === 'gpc' || c.source === 'dnt')
    return html`Вы ещё не выбирали; по сигналу браузера мы считаем это отказом.`;
  return html`Вы ещё не выбирали. Пока выбора нет, визиты учитываются только обезличенно, без сессии.`;
}

export function choicePage(path: string, consent: ConsentView): SafeHtml {
  return html`<h1>Настройки статистики и cookie</h1>
  <p class="lead" id="consent-state">${stateSentence(consent)}</p>
  ${signalNotice(consent)}
  <p>Необходимые cookie (запоминают только ваш выбор) работают всегда. Согласие на статистику с сессией можно дать или отозвать здесь в любой момент.
    Редакция политики: ${consent.policyVersion ?? '—'}.</p>
  ${choiceForm(path, consent, true)}
  <p><a href="/privacy">Политика конфиденциальности</a> · <a href="/privacy/recorded">Что сайт записал о вашем визите</a></p>`;
}
