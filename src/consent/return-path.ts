/**
 * Where a consent form redirects back to — never another site (no open redirect).
 * Only a same-site path is accepted: it starts with one `/` (not `//` or `/\`,
 * which browsers read as another host), and has only printable ASCII without
 * backslashes (browsers drop tabs and newlines from URLs, which could turn
 * `/\t/evil.example` into `//evil.example`).
 */

export const MAX_RETURN_PATH_LENGTH = 2048;

/** `value` when it is a safe same-site path, else `undefined`. */
export function safeReturnPath(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_PATH_LENGTH) return undefined;
  if (value.charCodeAt(0) !== 0x2f) return undefined;
  if (value.length > 1) {
    const second = value.charCodeAt(1);
    if (second === 0x2f || second === 0x5c) return undefined;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x5c) return undefined;
  }
  return value;
}

/**
 * The path (and query) of a Referer on this same host, when it is a safe
 * return path; `undefined` for another host, another scheme or garbage.
 */
export function sameHostRefererPath(referer: string | undefined, host: string | undefined): string | undefined {
  if (referer === undefined || host === undefined || referer.length > MAX_RETURN_PATH_LENGTH + 300) return undefined;
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.host !== host.trim().toLowerCase()) return undefined;
  return safeReturnPath(url.pathname + url.search);
}
