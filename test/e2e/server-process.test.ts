/**
 * `npm start` as a real process: it prints its URL, the dashboard URL and
 * where the token is; SIGTERM and SIGINT close it gracefully, and every
 * request it answered is in the SQLite file afterwards — nothing accepted is lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoredEvents } from './support/site-harness.js';

const SERVER = 'examples/kindergarten-site/server.ts';
/** A parent's phone: a person, not a bot (bots are left out of the stats). */
const PHONE = {
  'User-Agent':
    'Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36',
  'Accept-Language': 'ru-RU,ru;q=0.9',
};
const START_TIMEOUT_MS = 20_000;

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
}

async function start(dataDir: string): Promise<Running> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', PRIVACY_LOG_DATA_DIR: dataDir };
  delete env.STATS_TOKEN;
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  // The last line of the start-up banner: everything before it has been printed.
  while (!/running at (http:\/\/\S+?)\/\s[\s\S]*Data directory: .*\n/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the site did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = (/running at (http:\/\/\S+?)\/\s/.exec(out) as RegExpExecArray)[1] as string;
  return { child, url, output: () => out, exit };
}

describe('npm start (examples/kindergarten-site/server.ts)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'oblachko-server-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints where it runs and where the token is; SIGTERM flushes every event', async () => {
    const site = await start(dataDir);
    try {
      expect(site.output()).toContain(`Stats dashboard:  ${site.url}/admin/stats`);
      const tokenFile = join(dataDir, 'stats-token');
      expect(site.output()).toContain(tokenFile);
      const token = (await readFile(tokenFile, 'utf8')).trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect((await stat(tokenFile)).mode & 0o077).toBe(0);
      expect(site.output()).not.toContain(token);

      const paths = ['/', '/news', '/documents', '/contact', '/privacy'];
      const sent = 40;
      for (let i = 0; i < sent; i++) {
        const res = await fetch(`${site.url}${paths[i % paths.length]}`, { headers: PHONE });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      const withToken = await fetch(`${site.url}/admin/stats`, { headers: { Authorization: `Bearer ${token}` } });
      expect(withToken.status).toBe(200);
      await withToken.arrayBuffer();

      site.child.kill('SIGTERM');
      expect(await site.exit).toBe(0);
      expect(site.output()).toMatch(/SIGTERM: closing/);
      const events = readStoredEvents(join(dataDir, 'privacy-log.db'));
      const pageviews = events.filter((e) => e.kind === 'pageview' && paths.includes(e.request.path));
      expect(pageviews).toHaveLength(sent);
    } finally {
      site.child.kill('SIGKILL');
    }
  });

  it('reuses the token file on the next start, and stops on SIGINT', async () => {
    const tokenFile = join(dataDir, 'stats-token');
    const db = join(dataDir, 'privacy-log.db');
    // As left by an earlier start (the test above, or this one alone).
    if (!existsSync(tokenFile))
      await writeFile(tokenFile, 'a-token-from-an-earlier-start-0123456789\n', { mode: 0o600 });
    const newsBefore = existsSync(db) ? readStoredEvents(db).filter((e) => e.request.path === '/news').length : 0;
    const token = (await readFile(tokenFile, 'utf8')).trim();

    const site = await start(dataDir);
    try {
      expect(site.output()).toContain(tokenFile);
      expect(site.output()).not.toContain('generated now');
      const res = await fetch(`${site.url}/news`, { headers: PHONE });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const dash = await fetch(`${site.url}/admin/stats`, { headers: { Authorization: `Bearer ${token}` } });
      expect(dash.status).toBe(200);
      await dash.arrayBuffer();
      site.child.kill('SIGINT');
      expect(await site.exit).toBe(0);
      const news = readStoredEvents(db).filter((e) => e.request.path === '/news');
      expect(news).toHaveLength(newsBefore + 1);
    } finally {
      site.child.kill('SIGKILL');
    }
  });

  it('says so and exits 1 when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, ok));
    const port = String((taken.address() as AddressInfo).port);
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, PORT: port, PRIVACY_LOG_DATA_DIR: dataDir };
      const child = spawn(process.execPath, ['--import', 'tsx', SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stderr?.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      const code = await new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
      expect(code).toBe(1);
      expect(out).toMatch(/could not start: .*EADDRINUSE.*the port is taken/);
    } finally {
      await new Promise<void>((ok) => taken.close(() => ok()));
    }
  });
});
