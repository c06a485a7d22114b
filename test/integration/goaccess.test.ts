/**
 * A real log analyser from Debian reads our combined-format file: goaccess
 * parses every line written by createAccessLogger — hostile strings included —
 * and counts exactly the requests we logged.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessLogger } from '../../src/access-log/access-logger.js';
import type { PrivacyEvent } from '../../src/event.js';
import { probeService } from '../helpers/require-service.js';
import { anyText, makeEvent } from '../unit/access-log/fixtures.js';

const run = promisify(execFile);
const goaccess = await probeService('GOACCESS', () => run('goaccess', ['--version']));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-goaccess-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface GoaccessReport {
  general: { total_requests: number; valid_requests: number; failed_requests: number };
  requests: { data: Array<{ data: string; hits: { count: number } }> };
  static_requests: { data: Array<{ data: string; hits: { count: number } }> };
  not_found: { data: Array<{ data: string; hits: { count: number } }> };
  browsers: { data: Array<{ data: string; hits: { count: number } }> };
  os: { data: Array<{ data: string; hits: { count: number } }> };
}

async function writeCombined(events: PrivacyEvent[]): Promise<string> {
  const logs = fs.mkdtempSync(path.join(dir, 'logs-'));
  const logger = createAccessLogger({ format: 'combined', transports: [{ type: 'file', dir: logs }] });
  for (const e of events) logger.log(e);
  await logger.close();
  const file = fs.readdirSync(logs).find((f) => f.endsWith('.log'));
  return path.join(logs, file as string);
}

async function analyse(file: string): Promise<GoaccessReport> {
  const out = `${file}.json`;
  await run('goaccess', [file, '--log-format=COMBINED', '--no-global-config', '-o', out], { timeout: 60_000 });
  return JSON.parse(fs.readFileSync(out, 'utf8')) as GoaccessReport;
}

const hits = (panel: { data: Array<{ data: string; hits: { count: number } }> }, key: string) =>
  panel.data.find((d) => d.data === key)?.hits.count;

describe.skipIf(!goaccess.available)(`goaccess reads the combined format (${goaccess.reason})`, () => {
  it('counts every request we logged, per page, browser and OS', async () => {
    const events: PrivacyEvent[] = [
      ...Array.from({ length: 7 }, () => makeEvent({ request: { method: 'GET', path: '/news' } })),
      ...Array.from({ length: 3 }, () =>
        makeEvent({
          request: { method: 'GET', path: '/menu.pdf' },
          kind: 'download',
          client: { address: '2001:db8:abcd::', prefixLength: 48 },
          agent: { browser: 'Chrome', browserVersion: '131', os: 'Android', device: 'mobile', bot: false },
        }),
      ),
      makeEvent({ request: { method: 'POST', path: '/contact' }, response: { status: 303, durationMs: 1 } }),
      makeEvent({ request: { method: 'GET', path: '/missing' }, response: { status: 404, durationMs: 1 } }),
      makeEvent({ client: { address: 'unknown', prefixLength: 0 }, request: { method: 'GET', path: '/news' } }),
      makeEvent({
        agent: { browser: 'Googlebot', device: 'bot', bot: true },
        request: { method: 'GET', path: '/news' },
      }),
    ];
    const report = await analyse(await writeCombined(events));
    expect(report.general).toMatchObject({ total_requests: 14, valid_requests: 14, failed_requests: 0 });
    expect(hits(report.requests, '/news')).toBe(9);
    expect(hits(report.static_requests, '/menu.pdf')).toBe(3);
    expect(hits(report.not_found, '/missing')).toBe(1);
    expect(hits(report.browsers, 'Firefox')).toBe(10);
    expect(hits(report.browsers, 'Chrome')).toBe(3);
    expect(hits(report.os, 'Android')).toBe(3);
  });

  it('parses every line even when paths, referrers and agents hold hostile strings', async () => {
    const hostile = fc.record({
      path: anyText,
      query: fc.option(anyText, { nil: undefined }),
      referrer: fc.option(anyText, { nil: undefined }),
      browser: fc.option(anyText, { nil: undefined }),
      os: fc.option(anyText, { nil: undefined }),
      address: fc.constantFrom('203.0.113.0', '2001:db8::', 'unknown', '198.51.100.0'),
      status: fc.constantFrom(200, 301, 404, 500),
    });
    const events = fc.sample(hostile, { numRuns: 300, seed: 7 }).map((h) =>
      makeEvent({
        request: { method: 'GET', path: `/${h.path}`, query: h.query },
        response: { status: h.status, bytes: 10, durationMs: 1 },
        client: { address: h.address, prefixLength: 24 },
        referrer: h.referrer === undefined ? undefined : { host: h.referrer, type: 'external' },
        agent: { browser: h.browser, os: h.os, device: 'desktop', bot: false },
      }),
    );
    const report = await analyse(await writeCombined(events));
    expect(report.general).toMatchObject({ total_requests: 300, valid_requests: 300, failed_requests: 0 });
  });
});
