/** The news items of the site, newest first. */
export interface NewsItem {
  slug: string;
  /** 'YYYY-MM-DD'. */
  date: string;
  title: string;
  paragraphs: readonly string[];
}

export const NEWS: readonly NewsItem[] = [
  {
    slug: 'osennij-prazdnik',
    date: '2026-11-18',
    title: 'Осенний праздник в группах «Солнышко» и «Капелька»',
    paragraphs: [
      'Ребята подготовили песни и стихи об осени, а родители помогли сделать костюмы листьев и грибов.',
      'Спасибо всем семьям, которые пришли на праздник! Фотографии можно получить у воспитателей групп.',
    ],
  },
  {
    slug: 'menyu-noyabr',
    date: '2026-11-02',
    title: 'Меню на ноябрь опубликовано',
    paragraphs: [
      'Примерное десятидневное меню на ноябрь размещено в разделе «Документы».',
      'Если у ребёнка есть пищевая аллергия, пожалуйста, сообщите об этом медицинской сестре.',
    ],
  },
  {
    slug: 'priem-zayavlenij',
    date: '2026-10-20',
    title: 'Приём заявлений на следующий учебный год',
    paragraphs: [
      'Бланк заявления о приёме можно скачать в разделе «Документы» и принести заполненным в кабинет заведующей.',
      'Вопросы можно задать через форму обратной связи — мы ответим в течение трёх рабочих дней.',
    ],
  },
];

/** '2026-11-18' → '18 ноября 2026 г.' without depending on the runtime's ICU data. */
export function formatDateRu(date: string): string {
  const months = [
    'января',
    'февраля',
    'марта',
    'апреля',
    'мая',
    'июня',
    'июля',
    'августа',
    'сентября',
    'октября',
    'ноября',
    'декабря',
  ];
  const [y, m, d] = date.split('-').map(Number);
  return `${d} ${months[(m ?? 1) - 1]} ${y} г.`;
}
