/**
 * Set-Cookie header values, framework-free. Every cookie privacy-log sets is
 * `Path=/; HttpOnly; SameSite=Lax`, plus `Secure` when the request came over
 * HTTPS. The attribute strings are built once per factory.
 */

/** Attribute suffixes for one cookie, precomputed for plain HTTP and HTTPS. */
export interface CookieAttributes {
  readonly http: string;
  readonly https: string;
}

/** `; Max-Age=N; Path=/; HttpOnly; SameSite=Lax` and the same with `; Secure`. */
export function cookieAttributes(maxAgeSeconds: number): CookieAttributes {
  const http = `; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; SameSite=Lax`;
  return { http, https: `${http}; Secure` };
}

/** Attributes that make a browser delete the cookie now. */
export const EXPIRE_NOW: CookieAttributes = cookieAttributes(0);

/** `name=value` followed by the attributes for this scheme. */
export function setCookie(name: string, value: string, attributes: CookieAttributes, secure: boolean): string {
  return `${name}=${value}${secure ? attributes.https : attributes.http}`;
}
