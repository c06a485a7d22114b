import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSessionId, newSessionId, SESSION_ID_LENGTH } from '../../../src/consent/session-id.js';

describe('session ids', () => {
  it('are 128 random bits in 22 base64url characters, and accepted back', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newSessionId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
      expect(isSessionId(id)).toBe(true);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });

  it('reject everything newSessionId cannot produce', () => {
    const id = newSessionId();
    expect(isSessionId(`${id}A`)).toBe(false);
    expect(isSessionId(id.slice(1))).toBe(false);
    expect(isSessionId(`${id.slice(0, 21)}B`)).toBe(false); // padding bits set
    expect(isSessionId(`${id.slice(0, 10)}+${id.slice(11)}`)).toBe(false);
    expect(isSessionId(`${id.slice(0, 10)}é${id.slice(11)}`)).toBe(false);
    expect(isSessionId('')).toBe(false);
    fc.assert(
      fc.property(fc.string({ minLength: SESSION_ID_LENGTH, maxLength: SESSION_ID_LENGTH }), (s) => {
        if (isSessionId(s)) expect(Buffer.from(Buffer.from(s, 'base64url')).toString('base64url')).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
