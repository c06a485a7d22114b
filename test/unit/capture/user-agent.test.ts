import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClientHints } from '../../../src/capture/client-hints.js';
import { createUserAgentParser, DEFAULT_UA_MAX_LENGTH } from '../../../src/capture/user-agent.js';
import { isPrivacyLogError } from '../../../src/errors.js';
import { EVENT_LIMITS } from '../../../src/event.js';
import { big16k, UNSAFE_CHARS, validateWith } from './event-fixture.js';

/** Real User-Agent strings of current browsers (late 2024 / 2025 releases). */
const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeAndroidReduced:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  chromeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  safariIpad:
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  yandex:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36',
  samsung:
    'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotSmartphone:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  yandexBot: 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  curl: 'curl/8.5.0',
} as const;

const CHROME_HINTS = {
  secChUa: '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
  secChUaPlatform: '"Windows"',
  secChUaMobile: '?0',
};

describe('createUserAgentParser: real browsers', () => {
  const parse = createUserAgentParser();

  it('current Chrome on Windows: reduced UA alone, then with client hints', () => {
    expect(parse(UA.chromeWindows)).toEqual({
      browser: 'Chrome',
      browserVersion: '131',
      os: 'Windows',
      osVersion: '10',
      device: 'desktop',
      bot: false,
    });
    // With hints the frozen "Windows NT 10.0" says nothing; Platform-Version 15 means Windows 11.
    expect(parse(UA.chromeWindows, CHROME_HINTS)).toEqual({
      browser: 'Chrome',
      browserVersion: '131',
      os: 'Windows',
      device: 'desktop',
      bot: false,
    });
    expect(parse(UA.chromeWindows, { ...CHROME_HINTS, secChUaPlatformVersion: '"15.0.0"' }).osVersion).toBe('11');
    expect(parse(UA.chromeWindows, { ...CHROME_HINTS, secChUaPlatformVersion: '"10.0.0"' }).osVersion).toBe('10');
  });

  it('reduced Chrome on Android: hints give the real OS version and the mobile flag', () => {
    expect(parse(UA.chromeAndroidReduced)).toMatchObject({ browser: 'Chrome', os: 'Android', device: 'mobile' });
    expect(
      parse(UA.chromeAndroidReduced, {
        secChUa: '"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"',
        secChUaPlatform: '"Android"',
        secChUaMobile: '?1',
        secChUaPlatformVersion: '"14.0.0"',
      }),
    ).toEqual({
      browser: 'Chrome',
      browserVersion: '131',
      os: 'Android',
      osVersion: '14',
      device: 'mobile',
      bot: false,
    });
  });

  it('Chrome on macOS with hints names the system as ua-parser does', () => {
    expect(
      parse(UA.chromeMac, { ...CHROME_HINTS, secChUaPlatform: '"macOS"', secChUaPlatformVersion: '"14.6.1"' }),
    ).toMatchObject({ browser: 'Chrome', os: 'Mac OS', osVersion: '14', device: 'desktop' });
  });

  it.each([
    [
      'firefoxWindows',
      { browser: 'Firefox', browserVersion: '133', os: 'Windows', osVersion: '10', device: 'desktop' },
    ],
    ['firefoxLinux', { browser: 'Firefox', browserVersion: '145', os: 'Linux', device: 'desktop' }],
    ['safariMac', { browser: 'Safari', browserVersion: '18', os: 'Mac OS', osVersion: '10.15', device: 'desktop' }],
    [
      'safariIphone',
      { browser: 'Mobile Safari', browserVersion: '18', os: 'iOS', osVersion: '18.1', device: 'mobile' },
    ],
    ['safariIpad', { browser: 'Mobile Safari', browserVersion: '17', os: 'iOS', osVersion: '17.4', device: 'tablet' }],
    ['edge', { browser: 'Edge', browserVersion: '131', os: 'Windows', osVersion: '10', device: 'desktop' }],
    ['yandex', { browser: 'Yandex', browserVersion: '24', os: 'Windows', osVersion: '10', device: 'desktop' }],
    [
      'samsung',
      { browser: 'Samsung Internet', browserVersion: '26', os: 'Android', osVersion: '14', device: 'mobile' },
    ],
  ] as const)('%s', (name, expected) => {
    expect(parse(UA[name])).toEqual({ ...expected, bot: false });
  });

  it('Edge and Yandex Browser by their Sec-CH-UA brands', () => {
    const edge = parse(UA.edge, {
      secChUa: '"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
      secChUaPlatform: '"Windows"',
      secChUaMobile: '?0',
    });
    expect(edge).toMatchObject({ browser: 'Edge', browserVersion: '131', os: 'Windows' });
    const yandex = parse(UA.yandex, {
      secChUa: '"Chromium";v="128", "Not;A=Brand";v="24", "YaBrowser";v="24.10", "Yowser";v="2.5"',
      secChUaPlatform: '"Windows"',
      secChUaMobile: '?0',
    });
    expect(yandex).toMatchObject({ browser: 'Yandex', browserVersion: '24', os: 'Windows' });
  });

  it.each([
    ['googlebot', 'Googlebot', '2'],
    ['googlebotSmartphone', 'Googlebot', '2'],
    ['yandexBot', 'YandexBot', '3'],
    ['curl', 'curl', '8'],
  ] as const)('%s is a bot, named %s', (name, browser, version) => {
    expect(parse(UA[name])).toMatchObject({ bot: true, device: 'bot', browser, browserVersion: version });
  });

  it('an absent or empty UA is an unknown agent, not a crash', () => {
    expect(parse(undefined)).toEqual({ device: 'other', bot: false });
    expect(parse('')).toEqual({ device: 'other', bot: false });
    expect(parse(42 as never)).toEqual({ device: 'other', bot: false });
  });

  it('keeps only what the fields allow: no raw UA, no controls, ≤ 64 characters', () => {
    const out = parse(
      `Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36 \r\n\u2028\u0000${'x'.repeat(600)}`,
    );
    expect(UNSAFE_CHARS.test(JSON.stringify(out))).toBe(false);
    for (const v of Object.values(out)) {
      if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(EVENT_LIMITS.agentField);
    }
    expect(JSON.stringify(out)).not.toContain('Mozilla');
  });
});

describe('createUserAgentParser: cache and caps', () => {
  it('returns the same frozen object for the same UA and hints, and a different one when hints differ', () => {
    const parse = createUserAgentParser();
    const a = parse(UA.firefoxWindows);
    expect(parse(UA.firefoxWindows)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    const withHints = parse(UA.chromeWindows, CHROME_HINTS);
    expect(parse(UA.chromeWindows, { ...CHROME_HINTS })).toBe(withHints);
    expect(parse(UA.chromeWindows)).not.toBe(withHints);
    expect(parse(UA.chromeWindows, { ...CHROME_HINTS, secChUaMobile: '?1' }).device).toBe('mobile');
  });

  it('stays bounded: old entries are evicted, and results stay right after eviction', () => {
    const parse = createUserAgentParser({ cacheSize: 4 });
    const first = parse(UA.firefoxWindows);
    for (let i = 0; i < 20; i++) parse(`${UA.firefoxWindows} Extra/${i}`);
    const again = parse(UA.firefoxWindows);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    const uncached = createUserAgentParser({ cacheSize: 0 });
    expect(uncached(UA.safariMac)).toEqual(parse(UA.safariMac));
  });

  it('reads only maxLength characters: a 64 KiB UA is parsed as its first 512', () => {
    const parse = createUserAgentParser();
    const huge = UA.firefoxWindows + ' '.repeat(64 * 1024);
    expect(parse(huge)).toEqual(parse(UA.firefoxWindows.padEnd(DEFAULT_UA_MAX_LENGTH, ' ')));
    expect(parse(huge).browser).toBe('Firefox');
  });

  it('validates its options with coded errors', () => {
    for (const bad of [{ cacheSize: -1 }, { cacheSize: 1.5 }, { maxLength: 10 }, { maxLength: 100_000 }]) {
      let caught: unknown;
      try {
        createUserAgentParser(bad);
      } catch (e) {
        caught = e;
      }
      expect(isPrivacyLogError(caught, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    }
    expect(() => createUserAgentParser({ cachesize: 1 } as never)).toThrow(/Did you mean "cacheSize"/);
  });
});

describe('hostile user agents', () => {
  /**
   * Payload shapes of the published ua-parser-js ReDoS advisories (CVE-2017-16086,
   * CVE-2020-7733, CVE-2020-7793, CVE-2021-27292, CVE-2022-25927): long repetitions
   * that made a vulnerable pattern backtrack. ua-parser-js 1.0.41 is patched, and
   * the input cap bounds the work regardless; the timing is in bench/capture-parsers.ts.
   */
  const REDOS_PAYLOADS = [
    `iphone os ${'1'.repeat(60_000)}`,
    `Mozilla/5.0 (Linux; Android 9; Redmi Note${' '.repeat(60_000)}X`,
    `Mozilla/5.0 (Linux; Android 9; MI ${'MI '.repeat(20_000)}Build`,
    `Mozilla/5.0 (Windows NT 10.0; Trident/7.0; ${'rv:'.repeat(20_000)}`,
    `Mozilla/5.0 ${'AppleWebKit/ '.repeat(5_000)}`,
    `${' '.repeat(65_536)}x`,
    `${'\t'.repeat(65_536)}x`,
    `${'\uFEFF'.repeat(30_000)}x${'\u00A0'.repeat(30_000)}`,
    `Mozilla/5.0 ${'(a'.repeat(20_000)}`,
    `Mozilla/5.0 (Linux; U; Android 4.0; ${'SM-'.repeat(20_000)})`,
    `Opera/9.80 ${'Version/'.repeat(8_000)}`,
    `${'a;'.repeat(32_768)}`,
    `${'Mozilla/5.0 '.repeat(5_000)}`,
  ];

  it.each(REDOS_PAYLOADS.map((p, i) => [i, p] as const))('payload %i parses without throwing', (_i, payload) => {
    const parse = createUserAgentParser();
    const out = parse(payload);
    expect(validateWith((e) => (e.agent = out))).toBeUndefined();
  });

  it('property: never throws, and every result passes validateEvent (full Unicode, controls, 16 KiB)', () => {
    const parse = createUserAgentParser({ cacheSize: 64 });
    const hint = fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: undefined });
    const anything = fc.oneof(
      { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 5 },
      {
        arbitrary: fc
          .tuple(fc.constantFrom(...Object.values(UA)), fc.string({ unit: 'binary', maxLength: 60 }))
          .map(([ua, junk]) => ua.slice(0, ua.length / 2) + junk + ua.slice(ua.length / 2)),
        weight: 4,
      },
      { arbitrary: big16k, weight: 1 },
    );
    fc.assert(
      fc.property(
        anything,
        fc.record({ secChUa: hint, secChUaPlatform: hint, secChUaMobile: hint, secChUaPlatformVersion: hint }),
        (ua, hints) => {
          const out = parse(ua, hints);
          expect(validateWith((e) => (e.agent = out))).toBeUndefined();
          expect(Object.isFrozen(out)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseClientHints', () => {
  it('skips GREASE brands in all their spellings and prefers a specific brand over Chromium', () => {
    for (const grease of ['Not A(Brand', 'Not/A)Brand', ' Not;A Brand', 'Not.A/Brand', 'Not_A Brand', 'Not)A;Brand']) {
      expect(parseClientHints({ secChUa: `"${grease}";v="99", "Chromium";v="130"` })).toEqual({
        browser: 'Chromium',
        browserVersion: '130',
      });
    }
    expect(parseClientHints({ secChUa: '"Chromium";v="130", "Opera";v="115", "Not?A_Brand";v="99"' })).toMatchObject({
      browser: 'Opera',
      browserVersion: '115',
    });
  });

  it('maps platforms and platform versions to coarse ua-parser names', () => {
    expect(parseClientHints({ secChUaPlatform: '"Chrome OS"' })).toEqual({ os: 'Chromium OS' });
    expect(parseClientHints({ secChUaPlatform: '"Windows"', secChUaPlatformVersion: '"0.3.0"' })).toEqual({
      os: 'Windows',
      osVersion: '8.1',
    });
    expect(parseClientHints({ secChUaPlatform: '"Unknown"' })).toBeUndefined();
    expect(parseClientHints({ secChUaMobile: '?7' })).toBeUndefined();
    expect(parseClientHints({ secChUaMobile: '?1' })).toEqual({ mobile: true });
    expect(parseClientHints(undefined)).toBeUndefined();
  });
});
