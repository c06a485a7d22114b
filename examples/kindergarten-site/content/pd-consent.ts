/**
 * The consent to the processing of personal data for the contact form: a
 * separate document with its own checkbox, apart from the privacy policy and
 * any other text, as Federal Law 152-FZ (art. 9, as amended from 1 September
 * 2025) requires. Its version is stored with every submission.
 */
import { KINDERGARTEN } from './site-info.js';

export const PD_CONSENT_VERSION = '2026-11';
export const PD_CONSENT_PATH = '/contact/soglasie';

export const PD_CONSENT_TITLE = 'Согласие на обработку персональных данных';

export const PD_CONSENT_PARAGRAPHS: readonly string[] = [
  `Я, действуя свободно, своей волей и в своём интересе, в соответствии со статьёй 9 Федерального закона от 27.07.2006 № 152-ФЗ «О персональных данных» даю согласие оператору — ${KINDERGARTEN.name} (${KINDERGARTEN.address}) — на обработку моих персональных данных, указанных в форме обратной связи на сайте.`,
  'Состав данных: имя (как ко мне обращаться), номер телефона и (или) адрес электронной почты, текст обращения.',
  'Цель обработки: рассмотрение моего обращения и ответ на него.',
  'Действия с данными: сбор, запись, систематизация, хранение, использование для ответа, удаление. Данные обрабатываются без передачи третьим лицам, кроме случаев, прямо предусмотренных законом. IP-адрес и другие технические сведения о посещении с обращением не связываются и не сохраняются.',
  'Срок действия согласия: до достижения цели обработки, но не более одного года с момента отправки обращения; по истечении этого срока данные удаляются.',
  `Я могу отозвать согласие в любой момент, направив заявление по адресу ${KINDERGARTEN.address} или на электронную почту ${KINDERGARTEN.email}. После отзыва данные удаляются в течение 10 рабочих дней.`,
];
