/**
 * Validation of the contact form. Returns either a clean submission or an
 * error message per field, in Russian, to show beside the field.
 */
import type { ContactSubmission } from './contact-store.js';

export const CONTACT_LIMITS = { name: 100, phone: 32, email: 254, message: 2000, minMessage: 5 } as const;

export type ContactField = 'name' | 'phone' | 'email' | 'message' | 'pdConsent';

/** The raw form values, as typed, to re-fill the form after an error. */
export interface ContactFormValues {
  name: string;
  phone: string;
  email: string;
  message: string;
  pdConsent: boolean;
}

export type ContactValidation =
  | { ok: true; submission: Omit<ContactSubmission, 'pdConsentVersion'> }
  | { ok: false; errors: Partial<Record<ContactField, string>>; values: ContactFormValues };

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips control characters from typed text
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u2028\u2029]/g;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_CHARS_RE = /^[+\d\s()-]+$/;

function field(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' ? s.replace(CONTROL_RE, '').trim() : '';
}

export function validateContact(body: Record<string, unknown>): ContactValidation {
  const values: ContactFormValues = {
    name: field(body, 'name'),
    phone: field(body, 'phone'),
    email: field(body, 'email'),
    message: field(body, 'message').replace(/\r\n?/g, '\n'),
    pdConsent: field(body, 'pd_consent') === 'yes',
  };
  const errors: Partial<Record<ContactField, string>> = {};

  if (!values.name) errors.name = 'Укажите, как к вам обращаться.';
  else if (values.name.length > CONTACT_LIMITS.name) errors.name = `Не больше ${CONTACT_LIMITS.name} символов.`;

  if (values.phone) {
    const digits = values.phone.replace(/\D/g, '').length;
    if (values.phone.length > CONTACT_LIMITS.phone || !PHONE_CHARS_RE.test(values.phone) || digits < 10 || digits > 15)
      errors.phone = 'Номер телефона в формате +7 900 000-00-00.';
  }
  if (values.email && (values.email.length > CONTACT_LIMITS.email || !EMAIL_RE.test(values.email)))
    errors.email = 'Адрес электронной почты в формате name@example.ru.';
  if (!values.phone && !values.email && !errors.phone && !errors.email)
    errors.phone = 'Укажите телефон или электронную почту, чтобы мы могли ответить.';

  if (values.message.length < CONTACT_LIMITS.minMessage) errors.message = 'Напишите ваш вопрос или сообщение.';
  else if (values.message.length > CONTACT_LIMITS.message)
    errors.message = `Не больше ${CONTACT_LIMITS.message} символов (сейчас ${values.message.length}).`;

  if (!values.pdConsent)
    errors.pdConsent = 'Без согласия на обработку персональных данных мы не можем принять обращение.';

  if (Object.keys(errors).length > 0) return { ok: false, errors, values };
  return {
    ok: true,
    submission: {
      name: values.name,
      ...(values.phone ? { phone: values.phone } : {}),
      ...(values.email ? { email: values.email } : {}),
      message: values.message,
    },
  };
}
