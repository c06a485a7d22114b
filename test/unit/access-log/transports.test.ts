import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import { createTransport, DEFAULT_FILE_NAME, DEFAULT_MAX_FILES } from '../../../src/access-log/transports.js';

describe('createTransport', () => {
  it('console: stdout by default, every level to stderr when asked', () => {
    const out = createTransport({ type: 'console' }) as InstanceType<typeof winston.transports.Console>;
    const err = createTransport({ type: 'console', stream: 'stderr', level: 'warn' }) as InstanceType<
      typeof winston.transports.Console
    >;
    expect(out).toBeInstanceOf(winston.transports.Console);
    expect(Object.keys(out.stderrLevels)).toEqual([]);
    expect(Object.keys(err.stderrLevels)).toContain('info');
    expect(err.level).toBe('warn');
  });

  it('file: daily rotation in UTC with the defaults, in the configured directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-transport-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const t = createTransport({
      type: 'file',
      dir,
      maxSize: '10m',
    }) as DailyRotateFile & {
      close(): void;
      options: Record<string, unknown>;
      dirname: string;
      filename: string;
    };
    expect(t).toBeInstanceOf(DailyRotateFile);
    expect(t.options).toMatchObject({
      dirname: dir,
      filename: DEFAULT_FILE_NAME,
      datePattern: 'YYYY-MM-DD',
      maxFiles: DEFAULT_MAX_FILES,
      maxSize: '10m',
      utc: true,
    });
    await new Promise((resolve) => {
      t.once('finish', resolve);
      t.close();
    });
  });

  it('http: host, port, path and bearer token from the URL and options', () => {
    const t = createTransport({
      type: 'http',
      url: 'https://[::1]:8443/ingest/logs?tenant=a',
      token: 'tkn',
      headers: { 'x-a': 'b' },
    }) as InstanceType<typeof winston.transports.Http> & { path: string; headers: Record<string, string> };
    expect(t).toBeInstanceOf(winston.transports.Http);
    expect(t).toMatchObject({
      ssl: true,
      host: '::1',
      port: 8443,
      path: '/ingest/logs?tenant=a',
      auth: { bearer: 'tkn' },
    });
    expect(t.headers['x-a']).toBe('b');
  });
});
