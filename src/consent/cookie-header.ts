/**
 * Finding one cookie in a Cookie header, cheaply: no full parse, no map, only
 * `indexOf` for the name we want, on at most {@link MAX_COOKIE_HEADER_SCAN}
 * characters of the header.
 */

/** Characters of a Cookie header that are looked at; the rest is ignored. */
export const MAX_COOKIE_HEADER_SCAN = 8192;

/** Returned when the cookie appears more than once (ambiguous: possibly planted by a sibling domain). */
export const DUPLICATE_COOKIE: unique symbol = Symbol('duplicate cookie');

/**
 * The raw value of the cookie whose `name=` is `needle`, `undefined` when it
 * is absent, {@link DUPLICATE_COOKIE} when it appears twice or more. Values are
 * returned as sent (no unquoting, no decoding); trailing blanks are dropped.
 */
export function findCookie(header: string, needle: string): string | undefined | typeof DUPLICATE_COOKIE {
  const h = header.length > MAX_COOKIE_HEADER_SCAN ? header.slice(0, MAX_COOKIE_HEADER_SCAN) : header;
  let found: string | undefined;
  let from = 0;
  for (;;) {
    const at = h.indexOf(needle, from);
    if (at < 0) return found;
    from = at + needle.length;
    if (!startsPair(h, at)) continue;
    if (found !== undefined) return DUPLICATE_COOKIE;
    const semi = h.indexOf(';', from);
    let end = semi < 0 ? h.length : semi;
    while (end > from && isBlank(h.charCodeAt(end - 1))) end--;
    found = h.slice(from, end);
  }
}

/** True when `at` starts a cookie pair: at the header start or after `;` and blanks. */
function startsPair(h: string, at: number): boolean {
  let j = at - 1;
  while (j >= 0 && isBlank(h.charCodeAt(j))) j--;
  return j < 0 || h.charCodeAt(j) === 0x3b;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
