/**
 * `privacy-log collect` as a real process: configured from PRIVACY_LOG_*
 * variables, receiving batches over loopback HTTP, storing them in SQLite and
 * an access-log file, and shutting down gracefully on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { httpAggregator } from '../../src/aggregators/http-aggregator.js';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { main } from '../../src/cli/main.js';
import { makeEvent } from '../unit/access-log/fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'cli-collector-token-0123456789';
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-cli-'));
  dirs.push(d);
  return d;
}

/** Starts `privacy-log collect` and resolves with its URL once it listens. */
function startCollect(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'collect'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start in 40 s:\n${err}`)), 40_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] as string, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code}:\n${err}`));
    });
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('privacy-log collect', () => {
  it('stores what app servers send, and flushes everything on SIGTERM', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'collector.db');
    const logs = path.join(dir, 'logs');
    const { child, url, stderr } = await startCollect({
      PRIVACY_LOG_COLLECTOR_TOKEN: TOKEN,
      PRIVACY_LOG_COLLECTOR_PORT: '0',
      PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'sqlite,access-log',
      PRIVACY_LOG_SQLITE_FILE: db,
      PRIVACY_LOG_TRANSPORTS: 'file',
      PRIVACY_LOG_FILE_DIR: logs,
      PRIVACY_LOG_ACCESS_LOG_FORMAT: 'combined',
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/privacy-log\/collect$/);
    expect(stderr()).not.toContain(TOKEN);

    const sender = httpAggregator({ url, token: TOKEN });
    const batches = [
      Array.from({ length: 30 }, (_, i) => makeEvent({ request: { method: 'GET', path: `/a/${i}` } })),
      Array.from({ length: 12 }, (_, i) => makeEvent({ request: { method: 'GET', path: `/b/${i}` } })),
    ];
    for (const events of batches) await sender.write({ events, sketches: [] });
    await sender.write({ events: batches[0] ?? [], sketches: [] }); // a retry: no duplicates in SQLite

    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
    expect(stderr()).toContain('SIGTERM received');
    expect(stderr()).toMatch(/3 batches, 72 events stored/);

    const store = sqliteAggregator({ file: db });
    const stats = await store.query({
      type: 'aggregate',
      period: 'custom',
      from: '2026-11-24',
      to: '2026-11-24',
      metrics: ['pageviews'],
    });
    await store.close();
    expect(stats.results).toEqual([{ pageviews: 42 }]);
    const file = fs.readdirSync(logs).find((f) => f.endsWith('.log')) as string;
    const lines = fs.readFileSync(path.join(logs, file), 'utf8').split('\n').filter(Boolean);
    // the access log is at-least-once: the retried batch is logged again
    expect(lines).toHaveLength(72);
    expect(lines[0]).toBe(
      '203.0.113.0 - - [24/Nov/2026:15:34:44 +0000] "GET /a/0 HTTP/1.1" 200 5120 "search.example" "Mozilla/5.0 (Windows) Firefox/120"',
    );
  });

  it('refuses to start without a token or a store, naming the variable', async () => {
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    expect(
      await main(
        ['collect'],
        { PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'sqlite', PRIVACY_LOG_SQLITE_FILE: path.join(tempDir(), 'x.db') },
        io,
      ),
    ).toBe(2);
    expect(out.join('')).toContain('PRIVACY_LOG_COLLECTOR_TOKEN');
    out.length = 0;
    expect(await main(['collect'], { PRIVACY_LOG_COLLECTOR_TOKEN: TOKEN }, io)).toBe(2);
    expect(out.join('')).toContain('PRIVACY_LOG_COLLECTOR_AGGREGATORS');
    out.length = 0;
    expect(await main(['collect'], { PRIVACY_LOG_COLECTOR_TOKEN: TOKEN }, io)).toBe(2);
    expect(out.join('')).toContain('Did you mean PRIVACY_LOG_COLLECTOR_TOKEN?');
    out.length = 0;
    expect(
      await main(
        ['collect'],
        { PRIVACY_LOG_COLLECTOR_TOKEN: TOKEN, PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'access-log' },
        io,
      ),
    ).toBe(2);
    expect(out.join('')).toContain('no access log is configured');
  });

  it('prints help and version, and rejects unknown commands and options', async () => {
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    expect(await main(['--help'], {}, io)).toBe(0);
    expect(out.join('')).toContain('collect [--config FILE]');
    out.length = 0;
    expect(await main(['--version'], {}, io)).toBe(0);
    expect(out.join('').trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    out.length = 0;
    expect(await main(['colect'], {}, io)).toBe(2);
    expect(out.join('')).toContain('unknown command "colect"');
    out.length = 0;
    expect(await main(['collect', '--port', '1'], {}, io)).toBe(2);
    expect(out.join('')).toContain('unknown option --port');
    // Help of its own, without starting a server (no configuration is given).
    for (const flag of ['--help', '-h']) {
      out.length = 0;
      expect(await main(['collect', flag], {}, io)).toBe(0);
      expect(out.join('')).toMatch(/^Usage: privacy-log collect \[--config FILE\]/);
      expect(out.join('')).toContain('PRIVACY_LOG_CONFIG');
    }
  });
});

describe('privacy-log stats', () => {
  async function seededStore(): Promise<string> {
    const file = path.join(tempDir(), 'stats.db');
    const store = sqliteAggregator({ file });
    const events = [
      ...Array.from({ length: 6 }, () => makeEvent({ request: { method: 'GET', path: '/news' } })),
      ...Array.from({ length: 3 }, () => makeEvent({ request: { method: 'GET', path: '/menu' } })),
    ];
    // one visitor each for the page sketches: rows with fewer than k visitors would be folded
    const page = (value: string, index: number) =>
      ({ day: '2026-11-24', site: 'oblachko', dimension: 'page', value, registers: [[index, 1]] }) as const;
    await store.write({ events, sketches: [page('/news', 1), page('/menu', 2)] });
    await store.close();
    return file;
  }
  const range = ['--period', 'custom', '--from', '2026-11-24', '--to', '2026-11-24'];

  it('prints an aggregate, a breakdown table and JSON from a SQLite store', async () => {
    const file = await seededStore();
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    expect(await main(['stats', '--sqlite', file, ...range, '--metrics', 'pageviews'], {}, io)).toBe(0);
    expect(out.join('').split('\n').slice(1, 3)).toEqual(['pageviews', '        9']);
    out.length = 0;
    expect(
      await main(
        ['stats', '--sqlite', file, ...range, '--breakdown', 'page', '--metrics', 'pageviews', '--k', '1'],
        {},
        io,
      ),
    ).toBe(0);
    const lines = out.join('').split('\n');
    expect(lines[1]).toMatch(/^value\s+pageviews$/);
    expect(lines[2]).toMatch(/^\/news +6$/);
    expect(lines[3]).toMatch(/^\/menu +3$/);
    expect(lines[2]?.length).toBe(lines[1]?.length); // aligned under the header
    out.length = 0;
    expect(await main(['stats', '--sqlite', file, ...range, '--metrics', 'pageviews,events', '--json'], {}, io)).toBe(
      0,
    );
    expect(JSON.parse(out.join('')).results).toEqual([{ pageviews: 9, events: 9 }]);
  });

  it('finds the store in the configuration, and explains bad flags', async () => {
    const file = await seededStore();
    const out: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
    const env = { PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'sqlite', PRIVACY_LOG_SQLITE_FILE: file };
    expect(await main(['stats', ...range, '--metrics', 'events', '--json'], env, io)).toBe(0);
    expect(JSON.parse(out.join('')).results).toEqual([{ events: 9 }]);
    out.length = 0;
    expect(await main(['stats', '--sqlite', file, '--breakdwn', 'page'], {}, io)).toBe(2);
    expect(out.join('')).toContain("Unknown option '--breakdwn'");
    out.length = 0;
    expect(await main(['stats', ...range], {}, io)).toBe(2);
    expect(out.join('')).toContain('--sqlite FILE or --postgres URL');
    out.length = 0;
    expect(await main(['stats', '--sqlite', file, '--metrics', 'hits', ...range], {}, io)).toBe(2);
    expect(out.join('')).toMatch(/hits/);
  });
});
