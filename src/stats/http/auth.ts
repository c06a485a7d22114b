/**
 * Authentication for the stats API and dashboard: a bearer token and/or HTTP
 * Basic credentials, compared in constant time (SHA-256 of both sides, then
 * crypto.timingSafeEqual, so neither length nor content leaks through timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface StatsAuthOptions {
  /** Accept `Authorization: Bearer <token>`. */
  token?: string;
  /** Accept `Authorization: Basic …` with these credentials (what a browser asks for). */
  basic?: { username: string; password: string };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A precomputed checker: returns true when the Authorization header carries valid credentials. */
export function authChecker(auth: StatsAuthOptions): (authorization: string | undefined) => boolean {
  const token = auth.token === undefined ? undefined : digest(auth.token);
  const basic = auth.basic === undefined ? undefined : digest(`${auth.basic.username}:${auth.basic.password}`);
  return (authorization) => {
    if (typeof authorization !== 'string' || authorization.length > 4096) return false;
    const space = authorization.indexOf(' ');
    if (space < 0) return false;
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'bearer' && token !== undefined) return timingSafeEqual(digest(value), token);
    if (scheme === 'basic' && basic !== undefined) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      return timingSafeEqual(digest(decoded), basic);
    }
    return false;
  };
}

/** The WWW-Authenticate challenge for a 401. */
export function challenge(auth: StatsAuthOptions): string {
  const parts: string[] = [];
  if (auth.basic) parts.push('Basic realm="privacy-log stats", charset="UTF-8"');
  if (auth.token !== undefined) parts.push('Bearer realm="privacy-log stats"');
  return parts.join(', ');
}
