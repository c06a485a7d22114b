/** Facts about the kindergarten shown across the site. */
export const KINDERGARTEN = {
  name: 'МБУ детский сад № 139 «Облачко»',
  shortName: 'Детский сад «Облачко»',
  address: 'ул. Солнечная, д. 12',
  phone: '+7 (000) 000-01-39',
  email: 'oblachko139@example.ru',
  hours: 'Пн–Пт, 7:00–19:00',
} as const;
