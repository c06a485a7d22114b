/**
 * CSRF defence for the consent POST: a cross-site page must not be able to flip
 * a visitor's consent with an auto-submitted form. A browser tells us where a
 * request comes from with `Sec-Fetch-Site` (all current browsers) or `Origin`
 * (sent on every cross-origin POST); either must say "this origin".
 *
 * - `Sec-Fetch-Site` present: only `same-origin` passes (`same-site`,
 *   `cross-site` and `none` are refused).
 * - else `Origin` present: it must be `https://<Host>` — or `http://<Host>` when
 *   the request reached us over plain HTTP (TLS may end at a proxy); `null` is refused.
 * - neither header: not a browser form (curl, server-to-server), which cannot
 *   carry a visitor's cookies anyway; allowed.
 */
import { type HeaderRecord, headerValue } from '../http/request-headers.js';

/** Why the request is refused as cross-site, or `undefined` when it may proceed. */
export function crossSiteReason(headers: HeaderRecord, secure: boolean): string | undefined {
  const fetchSite = headerValue(headers, 'sec-fetch-site');
  if (fetchSite !== undefined) {
    const site = fetchSite.trim().toLowerCase();
    if (site === 'same-origin') return undefined;
    if (site === 'same-site' || site === 'cross-site' || site === 'none') return `Sec-Fetch-Site is ${site}`;
    return 'Sec-Fetch-Site has an unknown value';
  }
  const origin = headerValue(headers, 'origin');
  if (origin === undefined) return undefined;
  const host = headerValue(headers, 'host');
  if (host === undefined || host.length === 0) return 'Origin present but no Host header to compare it with';
  const o = origin.trim().toLowerCase();
  const h = host.trim().toLowerCase();
  if (o === `https://${h}`) return undefined;
  if (!secure && o === `http://${h}`) return undefined;
  return 'Origin is another site';
}
