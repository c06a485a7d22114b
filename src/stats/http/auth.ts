/**
 * Authentication for the stats API and dashboard: a bearer token and/or HTTP
 * Basic credentials. The bearer check is the one the collector and the
 * metrics route use (src/http/bearer-auth.ts); Basic credentials go through
 * the same constant-time comparison (SHA-256 of both sides, then
 * crypto.timingSafeEqual, so neither length nor content leaks through timing).
 */
import { bearerChecker, matchesSecret, secretDigest } from '../../http/bearer-auth.js';

export interface StatsAuthOptions {
  /** Accept `Authorization: Bearer <token>`. */
  token?: string;
  /** Accept `Authorization: Basic …` with these credentials (what a browser asks for). */
  basic?: { username: string; password: string };
}

/** A precomputed checker: returns true when the Authorization header carries valid credentials. */
export function authChecker(auth: StatsAuthOptions): (authorization: string | undefined) => boolean {
  const bearer = auth.token === undefined ? undefined : bearerChecker(auth.token);
  const basic = auth.basic === undefined ? undefined : secretDigest(`${auth.basic.username}:${auth.basic.password}`);
  return (authorization) => {
    if (typeof authorization !== 'string' || authorization.length > 4096) return false;
    const space = authorization.search(/[ \t]/);
    if (space < 0) return false;
    const scheme = authorization.slice(0, space).toLowerCase();
    if (scheme === 'bearer') return bearer?.(authorization) === true;
    if (scheme === 'basic' && basic !== undefined) {
      const decoded = Buffer.from(authorization.slice(space + 1).trim(), 'base64').toString('utf8');
      return matchesSecret(decoded, basic);
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
