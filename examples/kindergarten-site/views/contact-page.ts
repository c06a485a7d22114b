/**
 * The contact form. Errors appear beside their fields (linked with
 * aria-describedby) and in a summary at the top; the personal-data consent is
 * its own checkbox, linked to its own document, never pre-checked.
 */

import { CONTACT_LIMITS, type ContactField, type ContactFormValues } from '../contact/validate-contact.js';
import { PD_CONSENT_PARAGRAPHS, PD_CONSENT_PATH, PD_CONSENT_TITLE, PD_CONSENT_VERSION } from '../content/pd-consent.js';
import { html, type SafeHtml } from './html.js';

export const EMPTY_CONTACT_FORM: ContactFormValues = { name: '', phone: '', email: '', message: '', pdConsent: false };

const LABELS: Record<ContactField, string> = {
  name: 'Ваше имя',
  phone: 'Телефон',
  email: 'Электронная почта',
  message: 'Сообщение',
  pdConsent: 'Согласие на обработку персональных данных',
};

function errorOf(errors: Partial<Record<ContactField, string>>, f: ContactField): SafeHtml | '' {
  const e = errors[f];
  return e ? html`<p class="field__error" id="${f}-error">${e}</p>` : '';
}

function describedBy(errors: Partial<Record<ContactField, string>>, f: ContactField, hint?: string): SafeHtml | '' {
  const ids = [hint, errors[f] ? `${f}-error` : undefined].filter(Boolean).join(' ');
  return ids ? html` aria-describedby="${ids}"` : '';
}

function invalid(errors: Partial<Record<ContactField, string>>, f: ContactField): SafeHtml | '' {
  return errors[f] ? html` aria-invalid="true"` : '';
}

export function contactPage(
  values: ContactFormValues = EMPTY_CONTACT_FORM,
  errors: Partial<Record<ContactField, string>> = {},
): SafeHtml {
  const fields = Object.keys(errors) as ContactField[];
  return html`<h1>Обратная связь</h1>
  <p class="lead">Задайте вопрос администрации детского сада. Мы ответим по телефону или на электронную почту в течение трёх рабочих дней.</p>
  ${
    fields.length > 0
      ? html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title">
          <h2 id="error-summary-title">Проверьте форму</h2>
          <ul>${fields.map((f) => html`<li><a href="#${f === 'pdConsent' ? 'pd_consent' : f}">${LABELS[f]}: ${errors[f]}</a></li>`)}</ul>
        </div>`
      : ''
  }
  <form class="form" method="post" action="/contact" novalidate>
    <div class="field${errors.name ? ' field--error' : ''}">
      <label for="name">${LABELS.name}</label>
      ${errorOf(errors, 'name')}
      <input id="name" name="name" type="text" autocomplete="name" maxlength="${CONTACT_LIMITS.name}" required value="${values.name}"${invalid(errors, 'name')}${describedBy(errors, 'name')}>
    </div>
    <fieldset class="field-group">
      <legend>Как с вами связаться <span class="hint">(телефон или почта — хотя бы одно)</span></legend>
      <div class="field${errors.phone ? ' field--error' : ''}">
        <label for="phone">${LABELS.phone}</label>
        <p class="hint" id="phone-hint">Например: +7 900 000-00-00</p>
        ${errorOf(errors, 'phone')}
        <input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" maxlength="${CONTACT_LIMITS.phone}" value="${values.phone}"${invalid(errors, 'phone')}${describedBy(errors, 'phone', 'phone-hint')}>
      </div>
      <div class="field${errors.email ? ' field--error' : ''}">
        <label for="email">${LABELS.email}</label>
        ${errorOf(errors, 'email')}
        <input id="email" name="email" type="email" autocomplete="email" maxlength="${CONTACT_LIMITS.email}" value="${values.email}"${invalid(errors, 'email')}${describedBy(errors, 'email')}>
      </div>
    </fieldset>
    <div class="field${errors.message ? ' field--error' : ''}">
      <label for="message">${LABELS.message}</label>
      ${errorOf(errors, 'message')}
      <textarea id="message" name="message" rows="6" maxlength="${CONTACT_LIMITS.message}" required${invalid(errors, 'message')}${describedBy(errors, 'message')}>${values.message}</textarea>
    </div>
    <div class="field field--check${errors.pdConsent ? ' field--error' : ''}">
      ${errorOf(errors, 'pdConsent')}
      <input id="pd_consent" name="pd_consent" type="checkbox" value="yes" required${values.pdConsent ? html` checked` : ''}${invalid(errors, 'pdConsent')}${describedBy(errors, 'pdConsent')}>
      <label for="pd_consent">Я даю <a href="${PD_CONSENT_PATH}" target="_blank" rel="noopener">согласие на обработку персональных данных<span class="visually-hidden"> (откроется в новой вкладке)</span></a> (отдельный документ, редакция ${PD_CONSENT_VERSION})</label>
    </div>
    <p class="hint">Обращение хранится отдельно от статистики посещений, без IP-адреса. Подробнее — в <a href="/privacy">политике конфиденциальности</a>.</p>
    <button class="button" type="submit">Отправить</button>
  </form>`;
}

export function contactThanksPage(): SafeHtml {
  return html`<h1>Спасибо!</h1>
  <p class="lead" role="status">Ваше обращение принято. Мы ответим в течение трёх рабочих дней.</p>
  <p><a href="/">На главную</a></p>`;
}

export function pdConsentPage(): SafeHtml {
  return html`<article class="article">
    <h1>${PD_CONSENT_TITLE}</h1>
    <p class="hint">Редакция ${PD_CONSENT_VERSION}. Отдельный документ к форме обратной связи.</p>
    ${PD_CONSENT_PARAGRAPHS.map((p) => html`<p>${p}</p>`)}
    <p><a href="/contact">← Вернуться к форме</a></p>
  </article>`;
}
