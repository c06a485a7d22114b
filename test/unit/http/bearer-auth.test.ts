import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bearerChecker, matchesSecret, secretDigest } from '../../../src/http/bearer-auth.js';
import { authChecker } from '../../../src/stats/http/auth.js';

const TOKEN = 'test-token-0123456789';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('one constant-time secret check for the collector, the metrics route and the stats routes', () => {
  it('matchesSecret accepts exactly the secret', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(matchesSecret(b, secretDigest(a))).toBe(a === b);
      }),
    );
  });

  it('the stats check takes bearer tokens as the collector does, and keeps Basic credentials', () => {
    const stats = authChecker({ token: TOKEN, basic: { username: 'admin', password: 'pw 1' } });
    const collector = bearerChecker(TOKEN);
    for (const header of [
      `Bearer ${TOKEN}`,
      `bearer ${TOKEN}`,
      `Bearer\t${TOKEN} `,
      `Bearer ${TOKEN}x`,
      'Bearer ',
      `Bearer a ${TOKEN}`,
    ]) {
      expect(stats(header)).toBe(collector(header));
    }
    expect(stats(`Bearer ${TOKEN}`)).toBe(true);
    expect(stats(basic('admin', 'pw 1'))).toBe(true);
    expect(stats(basic('admin', 'pw 2'))).toBe(false);
    expect(stats('Basic !!!')).toBe(false);
    expect(stats(undefined)).toBe(false);
    expect(stats(`Bearer ${'x'.repeat(5000)}`)).toBe(false);
  });

  it('a scheme that is not configured is refused', () => {
    expect(authChecker({ token: TOKEN })(basic('admin', TOKEN))).toBe(false);
    expect(authChecker({ basic: { username: 'admin', password: 'pw' } })(`Bearer ${TOKEN}`)).toBe(false);
  });
});
