/** Reading request headers given as a plain record (node's IncomingHttpHeaders shape). */

export type HeaderRecord = Record<string, string | string[] | undefined>;

/** One header's value; repeated headers are joined with `joiner`. Names are looked up lowercase. */
export function headerValue(headers: HeaderRecord, name: string, joiner = ', '): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.join(joiner);
  return undefined;
}

/** The Cookie header (several Cookie headers are joined as one). */
export function cookieHeader(headers: HeaderRecord): string | undefined {
  return headerValue(headers, 'cookie', '; ');
}
