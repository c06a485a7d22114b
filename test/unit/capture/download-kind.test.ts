import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDownloadDetector, DEFAULT_DOWNLOAD_EXTENSIONS } from '../../../src/capture/download.js';
import { createKindClassifier } from '../../../src/capture/kind.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { EVENT_KINDS } from '../../../src/event.js';
import { validateWith } from './event-fixture.js';

function coded(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isPrivacyLogError(caught, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
}

describe('createDownloadDetector', () => {
  const detect = createDownloadDetector();
  const ok = { status: 200, finished: true };

  it('detects a listed extension, case-insensitively, with the last path segment as the file', () => {
    expect(DEFAULT_DOWNLOAD_EXTENSIONS).toEqual(expect.arrayContaining(['pdf', 'docx', 'xlsx', 'zip', 'csv', 'mp4']));
    expect(detect({ ...ok, path: '/docs/menu-2024.pdf', contentLength: 5120, bytesSent: 5120 })).toEqual({
      file: 'menu-2024.pdf',
      complete: true,
    });
    expect(detect({ ...ok, path: '/docs/MENU.PDF' })?.file).toBe('MENU.PDF');
    expect(detect({ ...ok, path: '/docs/photos.zip/' })?.file).toBe('photos.zip');
    expect(detect({ ...ok, path: '/docs/menu.html' })).toBeUndefined();
    expect(detect({ ...ok, path: '/docs/menu' })).toBeUndefined();
  });

  it('detects Content-Disposition: attachment, but names the file after the path, never the header', () => {
    const d = detect({
      path: '/export',
      status: 200,
      contentDisposition: 'attachment; filename="Ivanova_Maria_spravka.pdf"',
      contentType: 'application/pdf',
      finished: true,
    });
    expect(d).toEqual({ file: 'export', contentType: 'application/pdf', complete: true });
    expect(JSON.stringify(d)).not.toContain('Ivanova');
    expect(detect({ ...ok, path: '/x', contentDisposition: 'ATTACHMENT' })?.file).toBe('x');
    expect(detect({ ...ok, path: '/x', contentDisposition: 'inline; filename="a.txt"' })).toBeUndefined();
    expect(detect({ ...ok, path: '/', contentDisposition: 'attachment' })?.file).toBe('/');
  });

  it('counts only successful responses, 206 included', () => {
    expect(detect({ path: '/a.pdf', status: 206, finished: true })).toBeDefined();
    for (const status of [0, 101, 304, 404, 500, Number.NaN]) {
      expect(detect({ path: '/a.pdf', status, finished: true })).toBeUndefined();
    }
  });

  it('is complete only when finished and, where known, every byte was sent', () => {
    expect(detect({ path: '/a.pdf', status: 200, finished: false })?.complete).toBe(false);
    expect(detect({ path: '/a.pdf', status: 200, finished: true, contentLength: 100, bytesSent: 40 })?.complete).toBe(
      false,
    );
    expect(detect({ path: '/a.pdf', status: 200, finished: true, contentLength: 100, bytesSent: 100 })?.complete).toBe(
      true,
    );
    expect(detect({ path: '/a.pdf', status: 200, finished: true, contentLength: 100 })?.complete).toBe(true);
  });

  it('keeps a clean media type only', () => {
    expect(detect({ ...ok, path: '/a.csv', contentType: 'Text/CSV; charset=utf-8' })?.contentType).toBe('text/csv');
    expect(detect({ ...ok, path: '/a.csv', contentType: 'text/csv\r\nX: y' })?.contentType).toBeUndefined();
    expect(detect({ ...ok, path: '/a.csv', contentType: 'garbage' })?.contentType).toBeUndefined();
  });

  it('never counts files crawlers fetch by themselves', () => {
    expect(detect({ ...ok, path: '/robots.txt' })).toBeUndefined();
    expect(detect({ ...ok, path: '/.well-known/security.txt' })).toBeUndefined();
    expect(detect({ ...ok, path: '/docs/rules.txt' })?.file).toBe('rules.txt');
  });

  it('takes its own extension list, validated once', () => {
    const custom = createDownloadDetector({ downloadExtensions: ['.GPX', 'fb2'] });
    expect(custom({ ...ok, path: '/t/route.gpx' })?.file).toBe('route.gpx');
    expect(custom({ ...ok, path: '/a.pdf' })).toBeUndefined();
    coded(() => createDownloadDetector({ downloadExtensions: ['p df'] }));
    coded(() => createDownloadDetector({ downloadExtensions: 'pdf' as never }));
    coded(() => createDownloadDetector({ downloadExtension: [] } as never));
  });

  it('property: never throws; a result always passes validateEvent', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: -1, max: 1000 }),
        fc.option(fc.string({ unit: 'binary', maxLength: 80 }), { nil: undefined }),
        fc.option(fc.string({ unit: 'binary', maxLength: 80 }), { nil: undefined }),
        fc.boolean(),
        (path, status, disposition, type, finished) => {
          for (const p of [path, `/${path}.pdf`]) {
            const d = detect({ path: p, status, contentDisposition: disposition, contentType: type, finished });
            if (d) expect(validateWith((e) => (e.download = d))).toBeUndefined();
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('createKindClassifier', () => {
  const classify = createKindClassifier();
  const get = (path: string, status = 200, contentType?: string, isDownload = false) =>
    classify({ method: 'GET', path, status, contentType, isDownload });

  it('error first: any status ≥ 400, whatever was asked for', () => {
    expect(get('/img/logo.png', 404)).toBe('error');
    expect(get('/a.pdf', 500, undefined, true)).toBe('error');
    expect(classify({ method: 'OPTIONS', path: '/', status: 405, isDownload: false })).toBe('error');
  });

  it('then download, as the detector said', () => {
    expect(get('/a.pdf', 200, 'application/pdf', true)).toBe('download');
    expect(classify({ method: 'POST', path: '/export', status: 200, isDownload: true })).toBe('download');
  });

  it('then other for OPTIONS, TRACE, unknown methods and informational statuses', () => {
    for (const method of ['OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'BREW', '']) {
      expect(classify({ method, path: '/', status: 200, contentType: 'text/html', isDownload: false })).toBe('other');
    }
    expect(get('/', 101)).toBe('other');
    expect(get('/', 0)).toBe('other');
  });

  it('then assets by extension or content type', () => {
    for (const p of ['/app.css', '/app.JS', '/app.mjs', '/app.js.map', '/i/a.webp', '/favicon.ico', '/f/a.woff2']) {
      expect(get(p)).toBe('asset');
    }
    expect(get('/bundle', 200, 'text/css')).toBe('asset');
    expect(get('/img', 200, 'image/png')).toBe('asset');
    expect(get('/app.css', 304)).toBe('asset');
    // only reads are assets: a POST to an image path is not one
    expect(classify({ method: 'POST', path: '/upload.png', status: 201, isDownload: false })).toBe('other');
  });

  it('then api by prefix or JSON', () => {
    expect(get('/api/news')).toBe('api');
    expect(get('/api')).toBe('api');
    expect(get('/apiary')).toBe('pageview');
    expect(get('/data', 200, 'application/json; charset=utf-8')).toBe('api');
    expect(get('/data', 200, 'application/problem+json')).toBe('api');
    expect(classify({ method: 'DELETE', path: '/api/x', status: 204, isDownload: false })).toBe('api');
  });

  it('then pageview: GET/HEAD with HTML or unknown type, 2xx or 304', () => {
    expect(get('/news', 200, 'text/html; charset=utf-8')).toBe('pageview');
    expect(get('/news', 200)).toBe('pageview');
    expect(get('/news', 304)).toBe('pageview');
    expect(classify({ method: 'HEAD', path: '/', status: 200, contentType: 'text/html', isDownload: false })).toBe(
      'pageview',
    );
  });

  it('else other: redirects, POSTs that render HTML, feeds, text', () => {
    expect(get('/old', 301)).toBe('other');
    expect(get('/feed', 200, 'application/rss+xml')).toBe('other');
    expect(get('/x', 200, 'text/plain')).toBe('other');
    expect(
      classify({ method: 'POST', path: '/contact', status: 200, contentType: 'text/html', isDownload: false }),
    ).toBe('other');
  });

  it('takes its own lists, validated once', () => {
    const custom = createKindClassifier({ assetExtensions: ['svg'], apiPrefixes: ['/v1/', '/graphql'] });
    expect(custom({ method: 'GET', path: '/a.css', status: 200, isDownload: false })).toBe('pageview');
    expect(custom({ method: 'POST', path: '/graphql', status: 200, isDownload: false })).toBe('api');
    expect(custom({ method: 'GET', path: '/v1', status: 200, isDownload: false })).toBe('api');
    coded(() => createKindClassifier({ apiPrefixes: ['api/'] }));
    coded(() => createKindClassifier({ assetExtensions: ['c ss'] }));
    coded(() => createKindClassifier({ apiPrefix: ['/api/'] } as never));
  });

  it('property: never throws, always one of the kinds', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.oneof(fc.integer({ min: -5, max: 1000 }), fc.constant(Number.NaN)),
        fc.option(fc.string({ unit: 'binary', maxLength: 60 }), { nil: undefined }),
        fc.boolean(),
        (method, path, status, contentType, isDownload) => {
          expect(EVENT_KINDS).toContain(classify({ method, path, status, contentType, isDownload }));
        },
      ),
      { numRuns: 400 },
    );
  });
});
