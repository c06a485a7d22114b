/**
 * Download detection at capture (DESIGN §4).
 *
 * A download is a successful response (2xx, including 206 Partial Content) that
 * either carries `Content-Disposition: attachment` or whose path ends in an
 * extension from the configured list. Its `file` is the last segment of the
 * (already reduced) request path — never the `filename` of Content-Disposition,
 * which a site may fill with a person's name ("Ivanova_spravka.pdf") that appears
 * nowhere else in the event. `complete` is true when the response finished and,
 * where both are known, the bytes sent reached the declared length.
 */

import { assertKnownKeys, invalidOption } from '../errors.js';
import { EVENT_LIMITS, type PrivacyEvent } from '../event.js';
import { detach, forgetLastMatch, redactPath } from './url.js';

export interface DownloadOptions {
  /**
   * File extensions (without the dot, case-insensitive) whose successful
   * responses are downloads. Replaces {@link DEFAULT_DOWNLOAD_EXTENSIONS}; spread it to extend.
   */
  downloadExtensions?: readonly string[];
}

/** What {@link createDownloadDetector}'s function reads from a finished response. */
export interface DownloadFacts {
  /** The reduced request path (no query). */
  path: string;
  status: number;
  contentDisposition?: string;
  contentType?: string;
  /** Body bytes actually sent, when the adapter knows. */
  bytesSent?: number;
  /** The declared body length, when known. */
  contentLength?: number;
  /** True when the response ended normally (not aborted). */
  finished: boolean;
}

export const DEFAULT_DOWNLOAD_EXTENSIONS: readonly string[] = Object.freeze([
  'pdf',
  'doc',
  'docx',
  'xls',
  'xlsx',
  'ppt',
  'pptx',
  'odt',
  'ods',
  'odp',
  'rtf',
  'txt',
  'csv',
  'epub',
  'djvu',
  'zip',
  'rar',
  '7z',
  'gz',
  'tar',
  'mp3',
  'mp4',
  'm4a',
  'ogg',
  'wav',
  'avi',
  'mov',
  'mkv',
  'webm',
  'apk',
  'dmg',
  'exe',
  'msi',
  'iso',
]);

/**
 * Files that crawlers and browsers fetch on their own; they are never downloads,
 * even when their extension is listed (`robots.txt` and `txt`).
 */
export const NOT_DOWNLOADS: readonly string[] = Object.freeze([
  'robots.txt',
  'humans.txt',
  'ads.txt',
  'app-ads.txt',
  'security.txt',
  'llms.txt',
]);

const WHERE = 'privacyLog({ capture })';
const DOWNLOAD_OPTION_KEYS = ['downloadExtensions'] as const;
const EXTENSION_RE = /^[a-z0-9]{1,16}$/;
const ATTACHMENT_RE = /^\s*attachment\s*(?:;|$)/i;
const CONTENT_TYPE_RE = /^[a-z0-9!#$&^_.+-]{1,63}\/[a-z0-9!#$&^_.+-]{1,63}$/;

/**
 * `type/subtype` of a Content-Type, lowercased, parameters dropped; undefined when malformed.
 * @internal shared with kind.ts
 */
export function mediaType(contentType: string | undefined): string | undefined {
  if (typeof contentType !== 'string' || contentType === '') return undefined;
  const semi = contentType.indexOf(';');
  const bare = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return bare.length <= EVENT_LIMITS.contentType && CONTENT_TYPE_RE.test(bare) ? bare : undefined;
}

/** The last non-empty segment of a path, and its extension (lowercase, no dot). */
function lastSegment(path: string): { file: string; ext: string } {
  let end = path.length;
  const q = path.indexOf('?');
  if (q >= 0) end = q;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  const start = path.lastIndexOf('/', end - 1) + 1;
  const file = path.slice(start, end);
  const dot = file.lastIndexOf('.');
  return { file, ext: dot > 0 ? file.slice(dot + 1).toLowerCase() : '' };
}

/**
 * Creates the download detector. The extension list is validated and put in a
 * set once; the detector never throws.
 *
 * @example
 * const detect = createDownloadDetector();
 * detect({ path: '/docs/menu-2024.pdf', status: 200, contentLength: 5120, bytesSent: 5120, finished: true });
 * // { file: 'menu-2024.pdf', complete: true }
 * detect({ path: '/export', status: 200, contentDisposition: 'attachment; filename="Ivanova.pdf"',
 *          contentType: 'application/pdf', finished: false });
 * // { file: 'export', contentType: 'application/pdf', complete: false }
 */
export function createDownloadDetector(
  options: DownloadOptions = {},
): (f: DownloadFacts) => PrivacyEvent['download'] | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(WHERE, 'options', "an object such as { downloadExtensions: ['pdf'] }");
  }
  assertKnownKeys(options, DOWNLOAD_OPTION_KEYS, WHERE);
  const list = options.downloadExtensions ?? DEFAULT_DOWNLOAD_EXTENSIONS;
  if (!Array.isArray(list)) {
    throw invalidOption(
      WHERE,
      'downloadExtensions',
      `an array of extensions such as ['pdf', 'zip'] (got ${typeof list})`,
    );
  }
  const extensions = new Set<string>();
  for (const raw of list as readonly unknown[]) {
    const ext = typeof raw === 'string' ? raw.trim().toLowerCase().replace(/^\./, '') : raw;
    if (typeof ext !== 'string' || !EXTENSION_RE.test(ext)) {
      throw invalidOption(
        WHERE,
        'downloadExtensions',
        `a list of file extensions of 1–16 letters or digits, such as 'pdf' — got ${JSON.stringify(raw)}`,
      );
    }
    extensions.add(ext);
  }
  const notDownloads: ReadonlySet<string> = new Set(NOT_DOWNLOADS);

  return function detectDownload(f: DownloadFacts): PrivacyEvent['download'] | undefined {
    if (typeof f !== 'object' || f === null) return undefined;
    const status = f.status;
    if (!(status >= 200 && status <= 299)) return undefined;
    const path = typeof f.path === 'string' ? f.path : '';
    const { file, ext } = lastSegment(path);
    let attachment = false;
    if (typeof f.contentDisposition === 'string') {
      attachment = ATTACHMENT_RE.test(f.contentDisposition);
      forgetLastMatch(); // the header may name a person; the regex statics must not keep it
    }
    if (!attachment) {
      if (ext === '' || !extensions.has(ext) || notDownloads.has(file.toLowerCase())) return undefined;
      if (path.startsWith('/.well-known/')) return undefined;
    }
    const length = f.contentLength;
    const sent = f.bytesSent;
    const complete =
      f.finished === true &&
      (typeof length !== 'number' || typeof sent !== 'number' || !Number.isFinite(length) || sent >= length);
    // The path is normally reduced already; a raw one is made safe and redacted here too.
    let name = file === '' ? '/' : redactPath(file);
    if (name.length > EVENT_LIMITS.file) name = name.slice(0, EVENT_LIMITS.file);
    const download: PrivacyEvent['download'] = { file: detach(name), complete };
    const type = mediaType(f.contentType);
    if (type !== undefined) download.contentType = type;
    return download;
  };
}
