/**
 * Event kinds (DESIGN §4). The first rule that applies wins:
 *
 * 1. `error` — status ≥ 400, whatever was asked for (a missing image is an error, not an asset).
 * 2. `download` — the download detector said so (a 2xx with an attachment or a listed extension).
 * 3. `other` — methods other than GET, HEAD, POST, PUT, PATCH and DELETE (OPTIONS,
 *    TRACE, CONNECT, unknown ones), and status below 200 (informational, or 0 when
 *    nothing was sent).
 * 4. `asset` — GET/HEAD of a path with an asset extension (css, js, images, fonts,
 *    source maps, …) or with an asset content type (text/css, JavaScript, image/*,
 *    font/*, wasm).
 * 5. `api` — a path under an API prefix (default `/api/`), or a JSON response
 *    (`application/json`, `*+json`).
 * 6. `pageview` — GET/HEAD answered with 2xx or 304 and an HTML or unknown content type.
 *    Other redirects are `other`: the page they lead to is counted when it is shown.
 * 7. `other` — everything else (a POST that renders HTML, XML feeds, plain text, …).
 */

import { assertKnownKeys, invalidOption } from '../errors.js';
import type { EventKind } from '../event.js';
import { mediaType } from './download.js';

export interface KindOptions {
  /** Extensions (no dot, case-insensitive) of static assets. Replaces {@link DEFAULT_ASSET_EXTENSIONS}. */
  assetExtensions?: readonly string[];
  /** Path prefixes of API routes, each starting with '/'. Replaces {@link DEFAULT_API_PREFIXES}. */
  apiPrefixes?: readonly string[];
}

/** What {@link createKindClassifier}'s function reads. */
export interface KindFacts {
  method: string;
  /** The reduced request path (no query). */
  path: string;
  status: number;
  contentType?: string;
  isDownload: boolean;
}

export const DEFAULT_ASSET_EXTENSIONS: readonly string[] = Object.freeze([
  'css',
  'js',
  'mjs',
  'map',
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'avif',
  'ico',
  'bmp',
  'woff',
  'woff2',
  'ttf',
  'otf',
  'eot',
  'wasm',
  'webmanifest',
]);

export const DEFAULT_API_PREFIXES: readonly string[] = Object.freeze(['/api/']);

const WHERE = 'createKindClassifier()';
const KIND_OPTION_KEYS = ['assetExtensions', 'apiPrefixes'] as const;
const EXTENSION_RE = /^[a-z0-9]{1,16}$/;
const PREFIX_RE = /^\/[\x21-\x7e]{0,255}$/;
const CONTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

function isAssetType(type: string): boolean {
  return (
    type.startsWith('image/') ||
    type.startsWith('font/') ||
    type === 'text/css' ||
    type === 'text/javascript' ||
    type === 'application/javascript' ||
    type === 'application/wasm' ||
    type === 'application/manifest+json'
  );
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

function isPageType(type: string | undefined): boolean {
  return type === undefined || type === 'text/html' || type === 'application/xhtml+xml';
}

function extensionOf(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash + 1 || path.length - dot > 17) return '';
  return path.slice(dot + 1).toLowerCase();
}

function compileList(list: unknown, field: keyof KindOptions, re: RegExp, example: string, lower: boolean): string[] {
  if (!Array.isArray(list)) throw invalidOption(WHERE, field, `an array such as ${example} (got ${typeof list})`);
  const out: string[] = [];
  for (const raw of list as readonly unknown[]) {
    let v = typeof raw === 'string' ? raw.trim() : raw;
    if (typeof v === 'string' && lower) v = v.toLowerCase().replace(/^\./, '');
    if (typeof v !== 'string' || !re.test(v)) {
      throw invalidOption(WHERE, field, `an array such as ${example} — got ${JSON.stringify(raw)}`);
    }
    out.push(v);
  }
  return out;
}

/**
 * Creates the kind classifier. Lists are validated once; the classifier never
 * throws. The rules, in order, are listed at the top of this file.
 *
 * @example
 * const classify = createKindClassifier();
 * classify({ method: 'GET', path: '/news', status: 200, contentType: 'text/html; charset=utf-8', isDownload: false }); // 'pageview'
 * classify({ method: 'GET', path: '/img/logo.png', status: 404, isDownload: false });                              // 'error'
 * classify({ method: 'OPTIONS', path: '/api/x', status: 204, isDownload: false });                                 // 'other'
 */
export function createKindClassifier(options: KindOptions = {}): (f: KindFacts) => EventKind {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(WHERE, 'options', "an object such as { apiPrefixes: ['/api/'] }");
  }
  assertKnownKeys(options, KIND_OPTION_KEYS, WHERE);
  const assets: ReadonlySet<string> = new Set(
    compileList(
      options.assetExtensions ?? DEFAULT_ASSET_EXTENSIONS,
      'assetExtensions',
      EXTENSION_RE,
      "['css', 'png']",
      true,
    ),
  );
  const apiPrefixes = compileList(
    options.apiPrefixes ?? DEFAULT_API_PREFIXES,
    'apiPrefixes',
    PREFIX_RE,
    "['/api/']",
    false,
  );
  // '/api/' also covers the bare '/api'.
  const apiExact: ReadonlySet<string> = new Set(
    apiPrefixes.filter((p) => p.endsWith('/') && p.length > 1).map((p) => p.slice(0, -1)),
  );

  return function classifyKind(f: KindFacts): EventKind {
    if (typeof f !== 'object' || f === null) return 'other';
    const status = f.status;
    if (status >= 400) return 'error';
    if (f.isDownload === true) return 'download';
    const method = f.method;
    if (!CONTENT_METHODS.has(method) || !(status >= 200)) return 'other';
    const path = typeof f.path === 'string' ? f.path : '';
    const type = mediaType(f.contentType);
    const readsOnly = method === 'GET' || method === 'HEAD';
    if (readsOnly) {
      const ext = extensionOf(path);
      if ((ext !== '' && assets.has(ext)) || (type !== undefined && isAssetType(type))) return 'asset';
    }
    if (apiExact.has(path)) return 'api';
    for (const prefix of apiPrefixes) if (path.startsWith(prefix)) return 'api';
    if (type !== undefined && isJsonType(type)) return 'api';
    if (readsOnly && ((status >= 200 && status <= 299) || status === 304) && isPageType(type)) return 'pageview';
    return 'other';
  };
}
