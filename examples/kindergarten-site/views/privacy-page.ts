import { html, type SafeHtml } from './html.js';
import type { PolicyText } from './policy-text.js';
import { type DescriptionView, type StorageFact, technicalAppendix } from './technical-appendix.js';

export function privacyPage(
  policy: PolicyText,
  description: DescriptionView,
  stored: readonly StorageFact[],
): SafeHtml {
  return html`<article class="article policy">
    <h1>${policy.title}</h1>
    <p class="hint">Редакция ${description.consent?.policyVersion ?? '—'}.
      <a href="/privacy/choice">Настройки статистики и cookie</a> · <a href="/privacy/recorded">Что сайт записал о вашем визите</a></p>
    ${policy.blocks.map((b) =>
      b.kind === 'p' ? html`<p>${b.text}</p>` : html`<ul>${b.items.map((i) => html`<li>${i}</li>`)}</ul>`,
    )}
    ${technicalAppendix(description, stored)}
  </article>`;
}
