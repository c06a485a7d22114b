import { describe, expect, it } from 'vitest';
import { DEFAULT_KINDS, resolvePrivacyLogOptions } from '../../../src/options.js';

describe('privacyLog() options', () => {
  it('defaults: every kind but asset, /privacy routes, nothing remembered', () => {
    const o = resolvePrivacyLogOptions(undefined);
    expect([...o.kinds].sort()).toEqual([...DEFAULT_KINDS].sort());
    expect(o.kinds.has('asset')).toBe(false);
    expect(o.routesPrefix).toBe('/privacy');
    expect(o.rememberPrevious).toBeUndefined();
  });

  it.each([
    [{ stie: 'x' }, 'Did you mean "site"'],
    [{ trustproxy: 1 }, 'Did you mean "trustProxy"'],
    [{ capture: { queryAllowlist: [] } }, 'Did you mean "queryAllowList"'],
    [{ routes: { prefx: '/p' } }, 'Did you mean "prefix"'],
  ])('suggests the right key for %j', (input, hint) => {
    expect(() => resolvePrivacyLogOptions(input)).toThrowError(
      expect.objectContaining({
        code: 'PRIVACY_LOG_E_INVALID_OPTION',
        message: expect.stringContaining(hint),
      }),
    );
  });

  it.each([
    [{ site: 'a b' }, 'site'],
    [{ aggregators: [] }, 'aggregators'],
    [{ aggregators: [{ name: 'x' }] }, 'aggregators'],
    [{ capture: { kinds: ['visit'] } }, 'capture.kinds'],
    [{ capture: { queryAllowList: [''] } }, 'capture.queryAllowList'],
    [{ capture: { rememberPrevious: { ttlMs: 5 } } }, 'capture.rememberPrevious.ttlMs'],
    [{ routes: { prefix: 'privacy/' } }, 'routes.prefix'],
    [{ onError: 'log' }, 'onError'],
  ])('rejects %j naming %s', (input, field) => {
    expect(() => resolvePrivacyLogOptions(input)).toThrowError(
      expect.objectContaining({
        code: 'PRIVACY_LOG_E_INVALID_OPTION',
        message: expect.stringContaining(`"${field}"`),
      }),
    );
  });

  it('recognises a framework context passed where options belong', () => {
    expect(() => resolvePrivacyLogOptions({ req: {}, res: {}, app: {} })).toThrowError(
      expect.objectContaining({ code: 'PRIVACY_LOG_E_NOT_CALLED' }),
    );
    expect(() => resolvePrivacyLogOptions({ socket: {}, headers: {}, method: 'GET' })).toThrowError(
      expect.objectContaining({ code: 'PRIVACY_LOG_E_NOT_CALLED' }),
    );
  });

  it('compiles ignore rules once: exact, prefix, RegExp, predicate', () => {
    const o = resolvePrivacyLogOptions({ capture: { ignore: ['/health', '/internal/*', /\.map$/] } });
    expect(o.ignore?.('/health')).toBe(true);
    expect(o.ignore?.('/healthz')).toBe(false);
    expect(o.ignore?.('/internal/x')).toBe(true);
    expect(o.ignore?.('/app.js.map')).toBe(true);
    expect(o.ignore?.('/news')).toBe(false);
    const throwing = resolvePrivacyLogOptions({
      capture: {
        ignore: () => {
          throw new Error('x');
        },
      },
    });
    expect(throwing.ignore?.('/')).toBe(false);
  });
});
