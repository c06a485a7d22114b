/**
 * The consent banner and the consent choice form. Plain HTML forms posting to
 * privacy-log's `POST /privacy/consent`: they work without JavaScript, and
 * "Принять" and "Отказаться" are the same kind of button, side by side.
 */
import { html, type SafeHtml } from './html.js';
import type { ConsentView } from './privacy-state.js';

export const CONSENT_PATH = '/privacy/consent';

/** The sentence that tells the visitor which browser signal we honour, if any. */
export function signalNotice(consent: ConsentView): SafeHtml | undefined {
  if (consent.gpc) {
    return html`<p class="notice notice--signal" data-signal="gpc">Ваш браузер передал сигнал
      <abbr title="Global Privacy Control">GPC</abbr> (Global Privacy Control). Мы его соблюдаем:
      пока вы сами не выберете иное, ваши визиты учитываются только обезличенно, без сессии — как при отказе.</p>`;
  }
  if (consent.dnt) {
    return html`<p class="notice notice--signal" data-signal="dnt">Ваш браузер передал сигнал «Do Not Track».
      Мы его соблюдаем: пока вы сами не выберете иное, ваши визиты учитываются только обезличенно, без сессии.</p>`;
  }
  return undefined;
}

/** The two equal buttons, plus "withdraw" when consent is currently granted. */
export function choiceForm(returnPath: string, consent: ConsentView, withWithdraw: boolean): SafeHtml {
  return html`<form class="choice" method="post" action="${CONSENT_PATH}">
      <input type="hidden" name="return" value="${returnPath}">
      <div class="choice__buttons">
        <button class="button" type="submit" name="analytics" value="granted">Принять</button>
        <button class="button" type="submit" name="analytics" value="denied">Отказаться</button>
      </div>
      ${
        withWithdraw && consent.analytics === 'granted'
          ? html`<p class="choice__withdraw"><button class="button button--quiet" type="submit" name="analytics" value="withdraw">Отозвать согласие и удалить записи этой сессии</button></p>`
          : ''
      }
    </form>`;
}

/** The banner shown until the visitor chooses for the current policy version. */
export function consentBanner(returnPath: string, consent: ConsentView): SafeHtml {
  return html`<section class="banner" id="consent-banner" aria-labelledby="consent-banner-title">
    <div class="banner__inner">
      <h2 class="banner__title" id="consent-banner-title">Статистика посещений</h2>
      <p>Сайт ведёт только обезличенную статистику: адрес сокращается до сети, браузер — до названия и версии,
        содержимое форм не записывается. Если вы согласитесь, мы объединим ваши просмотры в сессию с помощью
        cookie на 30 минут — так нам понятнее, удобен ли сайт. Отказ ничего не ограничивает.</p>
      ${signalNotice(consent)}
      <p class="banner__meta">Редакция политики: ${consent.policyVersion ?? '—'}.
        <a href="/privacy">Политика конфиденциальности</a></p>
      ${choiceForm(returnPath, consent, false)}
    </div>
  </section>`;
}

/** Show the banner when no choice was made for this policy version (GPC/DNT visitors are told we honour it). */
export function shouldShowBanner(consent: ConsentView): boolean {
  return consent.askAgain || (consent.source !== 'choice' && (consent.gpc || consent.dnt));
}
