/**
 * The application form for admission as a tiny, valid DOCX (Office Open XML),
 * generated from text so the repository ships no opaque binary.
 */
import { KINDERGARTEN } from '../content/site-info.js';
import { zip } from './zip.js';

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function paragraph(text: string, opts: { bold?: boolean; center?: boolean; right?: boolean } = {}): string {
  const jc = opts.center ? '<w:jc w:val="center"/>' : opts.right ? '<w:jc w:val="right"/>' : '';
  const ppr = jc ? `<w:pPr>${jc}</w:pPr>` : '';
  const rpr = opts.bold ? '<w:rPr><w:b/></w:rPr>' : '';
  return `<w:p>${ppr}<w:r>${rpr}<w:t xml:space="preserve">${xmlText(text)}</w:t></w:r></w:p>`;
}

const LINES: readonly [string, Parameters<typeof paragraph>[1]?][] = [
  [`Заведующей ${KINDERGARTEN.name}`, { right: true }],
  ['от ______________________________________', { right: true }],
  ['(ФИО родителя (законного представителя))', { right: true }],
  [''],
  ['ЗАЯВЛЕНИЕ', { bold: true, center: true }],
  ['о приёме ребёнка в детский сад', { center: true }],
  [''],
  ['Прошу принять моего ребёнка ______________________________________________'],
  ['(ФИО ребёнка, дата рождения)'],
  ['в группу ____________________ с «____» ______________ 20___ г.'],
  ['Адрес места жительства ребёнка: ___________________________________________'],
  ['Контактный телефон: ______________________'],
  [''],
  ['С уставом, лицензией на образовательную деятельность и образовательной программой ознакомлен(а).'],
  [''],
  ['«____» ______________ 20___ г.          Подпись: ______________'],
];

function documentXml(): string {
  const body = LINES.map(([text, opts]) => paragraph(text, opts)).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
    `<w:document xmlns:w="${W}"><w:body>${body}` +
    '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="850" w:bottom="1134" w:left="1701" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>' +
    '</w:body></w:document>'
  );
}

const CONTENT_TYPES =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
  '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
  '<Default Extension="xml" ContentType="application/xml"/>' +
  '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
  '</Types>';

const RELS =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
  '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
  '</Relationships>';

export function applicationDocx(): Buffer {
  return zip([
    { name: '[Content_Types].xml', data: CONTENT_TYPES },
    { name: '_rels/.rels', data: RELS },
    { name: 'word/document.xml', data: documentXml() },
  ]);
}
