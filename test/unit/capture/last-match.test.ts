/**
 * After a parser matched a regular expression against raw input, V8's legacy
 * RegExp statics (`RegExp.input`, `RegExp.lastMatch`) must not hold that input.
 */
import { describe, expect, it } from 'vitest';
import { createDownloadDetector } from '../../../src/capture/download.js';
import { createKindClassifier } from '../../../src/capture/kind.js';
import { createReferrerReducer } from '../../../src/capture/referrer.js';
import { createUrlReducer, forgetLastMatch } from '../../../src/capture/url.js';
import { createUserAgentParser } from '../../../src/capture/user-agent.js';
import { isPrivacyLogError } from '../../../src/errors.js';

const statics = RegExp as unknown as { input: string; lastMatch: string };

describe('forgetLastMatch', () => {
  it('replaces the subject of the last match with a constant', () => {
    expect(/secret-(\d+)/.exec('token secret-42 here')).not.toBeNull();
    expect(statics.input).toContain('secret-42');
    forgetLastMatch();
    expect(statics.input).not.toContain('secret');
    expect(statics.lastMatch).not.toContain('secret');
  });

  it('runs after every parser that matches raw input', () => {
    const cases: [string, () => unknown][] = [
      ['user agent', () => createUserAgentParser()('Mozilla/5.0 (compatible; Secretbot-77/2.1; +http://x.example/)')],
      ['url query', () => createUrlReducer()('/p?ref=secret%2077&utm_source=%ZZsecret')],
      ['url absolute', () => createUrlReducer()('http://secret-77@host/p')],
      ['url phone', () => createUrlReducer()('/call/+79160000077')],
      ['referrer phone', () => createReferrerReducer()('https://oblachko.ru/call/+79160000077', 'oblachko.ru')],
      [
        'download',
        () =>
          createDownloadDetector()({
            path: '/x',
            status: 200,
            finished: true,
            contentDisposition: 'attachment; filename="secret-77.pdf"',
          }),
      ],
    ];
    for (const [name, run] of cases) {
      /secret/.exec('prime secret'); // a match on something else first
      run();
      expect({ name, input: statics.input.includes('77') }).toEqual({ name, input: false });
    }
  });

  it('every factory refuses a non-object options argument with a coded error', () => {
    const factories: (() => unknown)[] = [
      () => createUserAgentParser('x' as never),
      () => createUrlReducer([] as never),
      () => createReferrerReducer(null as never),
      () => createDownloadDetector(42 as never),
      () => createKindClassifier('x' as never),
    ];
    for (const f of factories) {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(isPrivacyLogError(caught, 'PRIVACY_LOG_E_INVALID_OPTION')).toBe(true);
    }
  });
});
