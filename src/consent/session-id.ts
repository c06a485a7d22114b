/**
 * Session ids: 128 random bits written as 22 base64url characters. Only a
 * string {@link newSessionId} could have produced is accepted back.
 */
import { randomBytes } from 'node:crypto';

export const SESSION_ID_LENGTH = 22;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Index of each base64url character, -1 for others. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** A fresh random session id. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * True for exactly the strings {@link newSessionId} produces: 22 base64url
 * characters whose last one carries 2 data bits and 4 zero padding bits.
 */
export function isSessionId(s: string): boolean {
  if (s.length !== SESSION_ID_LENGTH) return false;
  for (let i = 0; i < SESSION_ID_LENGTH; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || (VALUE[c] as number) < 0) return false;
  }
  return ((VALUE[s.charCodeAt(SESSION_ID_LENGTH - 1)] as number) & 0x0f) === 0;
}
