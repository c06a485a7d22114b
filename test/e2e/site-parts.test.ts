/**
 * The example site's own parts, without a browser: escaped templates, the
 * contact form's validation (property-tested), the contact store (a real
 * SQLite file, no IP column, retention), the generated DOCX, the policy parser,
 * the stats token file, and the Russian stats dashboard.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openContactStore } from '../../examples/kindergarten-site/contact/contact-store.js';
import { validateContact } from '../../examples/kindergarten-site/contact/validate-contact.js';
import { applicationDocx } from '../../examples/kindergarten-site/documents/application-docx.js';
import { loadDocuments } from '../../examples/kindergarten-site/documents/catalogue.js';
import { STATS_PREFIX } from '../../examples/kindergarten-site/site.js';
import { loadStatsToken } from '../../examples/kindergarten-site/stats-token.js';
import { escapeHtml, html } from '../../examples/kindergarten-site/views/html.js';
import { loadPolicy, parsePolicy } from '../../examples/kindergarten-site/views/policy-text.js';
import { startSite } from './support/site-harness.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oblachko-parts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('html templates', () => {
  it('escape every interpolated string, and only those', () => {
    const evil = `<script>alert("x")</script>&'`;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>',
    );
    expect(html`<div>${html`<b>${'<i>'}</b>`}</div>`.value).toBe('<div><b>&lt;i&gt;</b></div>');
    expect(html`${[1, '<', null, undefined, false]}`.value).toBe('1&lt;');
  });

  it('never let an interpolated value open a tag or close an attribute (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = html`<a title="${s}">${s}</a>`.value;
        const inner = out.slice('<a title="'.length, -'</a>'.length);
        return !/[<>]/.test(inner.replace('">', '')) && escapeHtml(s).split('"').length === 1;
      }),
    );
  });
});

describe('contact form validation', () => {
  const valid = {
    name: 'Мария',
    phone: '+7 (913) 555-21-87',
    email: '',
    message: 'Есть ли места?',
    pd_consent: 'yes',
  };

  it('accepts a phone or an email, with the separate personal-data consent', () => {
    expect(validateContact(valid)).toEqual({
      ok: true,
      submission: { name: 'Мария', phone: '+7 (913) 555-21-87', message: 'Есть ли места?' },
    });
    expect(validateContact({ ...valid, phone: '', email: 'm@example.ru' }).ok).toBe(true);
  });

  it('puts an error on each wrong field', () => {
    const r = validateContact({ name: ' ', phone: '12', email: 'no-at', message: 'a', pd_consent: 'on' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual(['email', 'message', 'name', 'pdConsent', 'phone']);
    const none = validateContact({ ...valid, phone: '', email: '' });
    expect(none.ok ? [] : Object.keys(none.errors)).toEqual(['phone']);
  });

  it('never throws, and whatever it accepts is bounded and free of control characters (property)', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.array(fc.string()),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.record({ name: value, phone: value, email: value, message: value, pd_consent: value }), (body) => {
        const r = validateContact(body as Record<string, unknown>);
        if (!r.ok) return Object.keys(r.errors).length > 0;
        const s = r.submission;
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
        const control = /[\u0000-\u0009\u000b-\u001f\u007f\u2028\u2029]/;
        return (
          s.name.length > 0 &&
          s.name.length <= 100 &&
          s.message.length <= 2000 &&
          (s.phone !== undefined || s.email !== undefined) &&
          ![s.name, s.message, s.phone ?? '', s.email ?? ''].some((t) => control.test(t))
        );
      }),
    );
  });
});

describe('contact store', () => {
  it('stores submissions in its own table, with no IP or request data, and deletes them after the retention', () => {
    const file = join(dir, 'contacts.db');
    const store = openContactStore(file, 365);
    const old = new Date('2025-01-10T10:00:00.000Z');
    store.add({ name: 'Старое', email: 'old@example.ru', message: 'давно', pdConsentVersion: '2026-11' }, old);
    const id = store.add(
      { name: 'Новое', phone: '+79135552187', message: 'сейчас', pdConsentVersion: '2026-11' },
      new Date('2026-11-20T10:00:00.000Z'),
    );
    expect(store.list()).toEqual([
      {
        id,
        createdAt: '2026-11-20T10:00:00.000Z',
        name: 'Новое',
        phone: '+79135552187',
        message: 'сейчас',
        pdConsentVersion: '2026-11',
      },
    ]);
    store.close();
    store.close();
    const db = new Database(file, { readonly: true });
    const columns = (db.prepare('PRAGMA table_info(contact_submissions)').all() as { name: string }[]).map(
      (c) => c.name,
    );
    db.close();
    expect(columns).toEqual(['id', 'created_at', 'name', 'phone', 'email', 'message', 'pd_consent_version']);
  });
});

/** Reads a ZIP by its central directory, independently of the writer, checking every CRC. */
function unzip(buf: Buffer): Map<string, string> {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    expect(buf.readUInt32LE(p)).toBe(0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    expect(buf.readUInt32LE(local)).toBe(0x04034b50);
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const packed = buf.subarray(dataStart, dataStart + size);
    const raw = method === 8 ? inflateRawSync(packed) : packed;
    expect(crc32(raw)).toBe(crc);
    out.set(name, raw.toString('utf8'));
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return out;
}

describe('documents', () => {
  it('the application form is a valid DOCX package, identical on every build', () => {
    const docx = applicationDocx();
    expect(applicationDocx().equals(docx)).toBe(true);
    const parts = unzip(docx);
    expect([...parts.keys()]).toEqual(['[Content_Types].xml', '_rels/.rels', 'word/document.xml']);
    expect(parts.get('[Content_Types].xml')).toContain('/word/document.xml');
    expect(parts.get('_rels/.rels')).toContain('Target="word/document.xml"');
    expect(parts.get('word/document.xml')).toContain('ЗАЯВЛЕНИЕ');
  });

  it('the menu is a small PDF, and every document has its content type', () => {
    const docs = loadDocuments();
    const pdf = docs.find((d) => d.file.endsWith('.pdf'));
    expect(pdf?.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf?.bytes.length).toBeLessThan(64 * 1024);
    expect(docs.map((d) => d.contentType)).toEqual([
      'application/pdf',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ]);
  });
});

describe('privacy policy text', () => {
  it('is the kindergarten’s own text, copied into the example, parsed into paragraphs and a list', async () => {
    const policy = loadPolicy();
    expect(policy.title).toBe('Политика конфиденциальности МБУ детского сада № 139 «Облачко»');
    expect(policy.blocks.filter((b) => b.kind === 'ul')).toEqual([
      {
        kind: 'ul',
        items: [
          'персональную информацию, которую Пользователь сознательно раскрыл Администрации Сайта в целях пользования ресурсами Сайта;',
          'техническую информацию, автоматически собираемую программным обеспечением Сайта во время его посещения.',
        ],
      },
    ]);
    const source = await readFile(
      new URL('../../examples/kindergarten-site/content/privacy-policy.ru.txt', import.meta.url),
      'utf8',
    );
    expect(source).toContain('server logs');
    expect(parsePolicy('\n\nT\r\n\r\n- a\n- b\ntext\n')).toEqual({
      title: 'T',
      blocks: [
        { kind: 'ul', items: ['a', 'b'] },
        { kind: 'p', text: 'text' },
      ],
    });
  });
});

describe('stats token', () => {
  it('is generated once into the data directory (0600), then read back; a given one wins', async () => {
    const tokenDir = await mkdtemp(join(dir, 'token-'));
    const created = loadStatsToken(tokenDir, undefined);
    expect(created.source).toBe('created');
    expect(created.token).toMatch(/^[\w-]{32}$/);
    expect((await stat(join(tokenDir, 'stats-token'))).mode & 0o777).toBe(0o600);
    expect(loadStatsToken(tokenDir, undefined)).toEqual({ ...created, source: 'file' });
    expect(loadStatsToken(tokenDir, 'a-given-token-of-some-length')).toEqual({
      token: 'a-given-token-of-some-length',
      source: 'given',
    });
    expect(() => loadStatsToken(tokenDir, 'short')).toThrow(/at least 16/);
  });
});

describe('stats dashboard of the example site', () => {
  it('is in Russian whatever the browser asks for (statsRoutes locale: ru)', async () => {
    const site = await startSite({ statsToken: 'parts-token-0123456789abcdef' });
    try {
      for (const language of ['en-US,en;q=0.9', 'de', undefined]) {
        const headers: Record<string, string> = { authorization: 'Bearer parts-token-0123456789abcdef' };
        if (language) headers['accept-language'] = language;
        const res = await fetch(`${site.url}${STATS_PREFIX}/`, { headers });
        expect(res.status).toBe(200);
        const body = await res.text();
        expect(body).toContain('<html lang="ru"');
        expect(body).toContain('Статистика посещений');
      }
    } finally {
      await site.dispose();
    }
  });
});
