/**
 * User-Agent client hints (Sec-CH-UA, Sec-CH-UA-Platform, Sec-CH-UA-Mobile,
 * Sec-CH-UA-Platform-Version), reduced to the same names ua-parser-js uses, so a
 * browser counts the same whether it sent hints or only its (reduced) UA string.
 */

/** The raw hint header values, as the adapter found them. */
export interface ClientHints {
  secChUa?: string;
  secChUaPlatform?: string;
  secChUaMobile?: string;
  secChUaPlatformVersion?: string;
}

/** What the hints say, already in ua-parser-js naming; every field optional. */
export interface ParsedHints {
  browser?: string;
  browserVersion?: string;
  os?: string;
  osVersion?: string;
  /** true for `?1`, false for `?0`, undefined when absent or malformed. */
  mobile?: boolean;
}

/** Longest hint value read; real ones are well under 200 characters. */
export const MAX_HINT_LENGTH = 256;

const BRAND_RE = /"([^"]{1,64})"\s*;\s*v\s*=\s*"([0-9]{1,10})[^"]{0,32}"/g;
const GREASE_RE = /not.?a.?brand/i;
const SAFE_NAME_RE = /^[A-Za-z0-9 ._()-]{1,64}$/;

/** Brand names as ua-parser-js names the same browsers. */
const BRAND_NAMES: ReadonlyMap<string, string> = new Map([
  ['Google Chrome', 'Chrome'],
  ['Microsoft Edge', 'Edge'],
  ['YaBrowser', 'Yandex'],
  ['Yandex', 'Yandex'],
  ['Opera', 'Opera'],
  ['Opera GX', 'Opera GX'],
  ['Brave', 'Brave'],
  ['Samsung Internet', 'Samsung Internet'],
  ['Android WebView', 'Chrome WebView'],
  ['HeadlessChrome', 'Chrome Headless'],
  ['Chromium', 'Chromium'],
]);

/** Sec-CH-UA-Platform values as ua-parser-js names the same systems. */
const PLATFORM_NAMES: ReadonlyMap<string, string> = new Map([
  ['Windows', 'Windows'],
  ['macOS', 'Mac OS'],
  ['Android', 'Android'],
  ['Linux', 'Linux'],
  ['Chrome OS', 'Chromium OS'],
  ['ChromeOS', 'Chromium OS'],
  ['Chromium OS', 'Chromium OS'],
  ['iOS', 'iOS'],
  ['Fuchsia', 'Fuchsia'],
]);

function unquote(v: string | undefined): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_HINT_LENGTH) return undefined;
  const t = v.trim();
  return t.length >= 2 && t.charCodeAt(0) === 34 && t.charCodeAt(t.length - 1) === 34 ? t.slice(1, -1) : t;
}

/** The coarse OS version a Sec-CH-UA-Platform-Version implies. */
function platformVersion(os: string, raw: string | undefined): string | undefined {
  const v = unquote(raw);
  if (v === undefined) return undefined;
  const m = /^([0-9]{1,5})(?:\.([0-9]{1,5}))?/.exec(v);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2] ?? 0);
  if (os === 'Windows') {
    // The hint carries the Windows build generation, not the marketing name.
    if (major >= 13) return '11';
    if (major >= 1) return '10';
    return minor >= 3 ? '8.1' : minor === 2 ? '8' : minor === 1 ? '7' : undefined;
  }
  return String(major);
}

/**
 * Reads the hints. The browser is the first brand that is neither GREASE
 * ("Not A(Brand" and its variants) nor the generic "Chromium"; "Chromium" only
 * when nothing more specific is listed. Never throws.
 *
 * @example
 * parseClientHints({ secChUa: '"Chromium";v="131", "Google Chrome";v="131", "Not_A Brand";v="24"',
 *                    secChUaPlatform: '"Windows"', secChUaMobile: '?0', secChUaPlatformVersion: '"15.0.0"' });
 * // { browser: 'Chrome', browserVersion: '131', os: 'Windows', osVersion: '11', mobile: false }
 */
export function parseClientHints(hints: ClientHints | undefined): ParsedHints | undefined {
  if (typeof hints !== 'object' || hints === null) return undefined;
  const out: ParsedHints = {};
  let any = false;
  const ua = hints.secChUa;
  if (typeof ua === 'string' && ua.length > 0 && ua.length <= MAX_HINT_LENGTH) {
    let generic: RegExpExecArray | undefined;
    let chosen: RegExpExecArray | undefined;
    BRAND_RE.lastIndex = 0;
    for (let m = BRAND_RE.exec(ua); m !== null; m = BRAND_RE.exec(ua)) {
      const brand = (m[1] as string).trim();
      if (GREASE_RE.test(brand) || !SAFE_NAME_RE.test(brand)) continue;
      if (brand === 'Chromium') generic ??= m;
      else {
        chosen = m;
        break;
      }
    }
    BRAND_RE.lastIndex = 0;
    const pick = chosen ?? generic;
    if (pick) {
      const brand = (pick[1] as string).trim();
      out.browser = BRAND_NAMES.get(brand) ?? brand;
      out.browserVersion = String(Number(pick[2]));
      any = true;
    }
  }
  const platform = unquote(hints.secChUaPlatform);
  if (platform !== undefined && platform !== '' && platform !== 'Unknown' && SAFE_NAME_RE.test(platform)) {
    out.os = PLATFORM_NAMES.get(platform) ?? platform;
    const version = platformVersion(out.os, hints.secChUaPlatformVersion);
    if (version !== undefined) out.osVersion = version;
    any = true;
  }
  const mobile = hints.secChUaMobile;
  if (mobile === '?1' || mobile === '?0') {
    out.mobile = mobile === '?1';
    any = true;
  }
  return any ? out : undefined;
}
