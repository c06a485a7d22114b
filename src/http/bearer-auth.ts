/**
 * Bearer-token check in constant time: both sides are hashed first, so neither
 * the comparison's duration nor an early length mismatch tells an attacker
 * how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a secret: what the checks compare, so every comparison has one length. */
export function secretDigest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Whether `given` hashes to `expected` (from secretDigest), in constant time. */
export function matchesSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(secretDigest(given), expected);
}

/** Precomputes the expected token's digest once; the returned check is per request. */
export function bearerChecker(token: string): (authorization: string | string[] | undefined) => boolean {
  const expected = secretDigest(token);
  return (authorization) => {
    const header = Array.isArray(authorization) ? authorization[0] : authorization;
    if (typeof header !== 'string' || header.length > 4096) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    // Always compare, even without a match, so both paths cost the same.
    return matchesSecret(m?.[1] ?? '', expected) && m !== null;
  };
}
