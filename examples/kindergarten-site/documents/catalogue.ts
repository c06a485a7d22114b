/**
 * The downloadable documents: loaded or generated once at start, served from
 * memory under /files/<name>, so every download goes through the privacy-log
 * middleware and is recorded as a `download` event.
 */
import { readFileSync } from 'node:fs';
import { applicationDocx } from './application-docx.js';

export const FILES_PREFIX = '/files/';

export interface SiteDocument {
  /** The file name in the URL and in the Content-Disposition header. */
  file: string;
  title: string;
  description: string;
  contentType: string;
  /** Human-readable format label. */
  format: string;
  bytes: Buffer;
}

export function loadDocuments(): readonly SiteDocument[] {
  return [
    {
      file: 'menu-2026-11.pdf',
      title: 'Меню на ноябрь 2026 года',
      description: 'Примерное меню: завтрак, обед и полдник по дням недели.',
      contentType: 'application/pdf',
      format: 'PDF',
      bytes: readFileSync(new URL('./files/menu-2026-11.pdf', import.meta.url)),
    },
    {
      file: 'zayavlenie-o-prieme.docx',
      title: 'Заявление о приёме ребёнка',
      description: 'Бланк для заполнения от руки или на компьютере.',
      contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      format: 'DOCX',
      bytes: applicationDocx(),
    },
  ];
}

/** '21707' → '21 КБ'. */
export function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} Б` : `${Math.round(bytes / 1024)} КБ`;
}
