/**
 * The consumer test: pack the package as npm would publish it, install the
 * tarball into a fresh project, and use every subpath export from there —
 * proving `exports`, the built `dist/`, the types and the runtime dependencies.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  version: string;
};

describe('consumer: the packed package', () => {
  let dir: string;
  let tarball: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'privacy-log-consumer-'));
    const out = execFileSync('npm', ['pack', '--pack-destination', dir, '--json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const packed = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: { path: string }[] }>;
    tarball = join(dir, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/src/index.js');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/'))).toBe(false);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // Install scripts are skipped so better-sqlite3 is not compiled a second time (minutes on
    // this 2-core machine): its native binary is the one this checkout built for the same
    // version. When the versions differ, it is rebuilt for real.
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=dev', '--ignore-scripts', tarball],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
    const version = (p: string) =>
      (JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) as { version: string }).version;
    const ours = join(root, 'node_modules', 'better-sqlite3');
    const theirs = join(dir, 'node_modules', 'better-sqlite3');
    const binary = join('build', 'Release', 'better_sqlite3.node');
    if (version(ours) === version(theirs) && existsSync(join(ours, binary))) {
      mkdirSync(join(theirs, 'build', 'Release'), { recursive: true });
      copyFileSync(join(ours, binary), join(theirs, binary));
    } else {
      execFileSync('npm', ['rebuild', 'better-sqlite3'], { cwd: dir, stdio: 'ignore' });
    }
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports every subpath export and runs the default pipeline', () => {
    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
    expect(subpaths).toEqual(expect.arrayContaining(['.', './koa', './express']));
    const script = `
      const subpaths = ${JSON.stringify(subpaths)};
      const loaded = {};
      for (const s of subpaths) {
        const m = await import(s === '.' ? 'privacy-log' : 'privacy-log/' + s.slice(2));
        loaded[s] = Object.keys(m).sort();
      }
      const { privacyLog } = await import('privacy-log/koa');
      const { memoryAggregator } = await import('privacy-log');
      const memory = memoryAggregator();
      const mw = privacyLog({ aggregators: [memory] });
      await mw.close();
      const own = (await import('privacy-log/package.json', { with: { type: 'json' } })).default;
      console.log(JSON.stringify({ loaded, version: own.version, middleware: typeof mw, routes: typeof mw.routes }));
    `;
    const out = execFileSync('node', ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
      loaded: Record<string, string[]>;
      version: string;
      middleware: string;
      routes: string;
    };
    expect(result.version).toBe(pkg.version);
    expect(result.loaded['.']).toEqual(
      expect.arrayContaining(['createPipeline', 'memoryAggregator', 'sqliteAggregator']),
    );
    expect(result.loaded['./koa']).toEqual(expect.arrayContaining(['privacyLog', 'statsRoutes']));
    expect(result.middleware).toBe('function');
    expect(result.routes).toBe('function');
  });

  it('ships type declarations for every subpath', () => {
    for (const [sub, target] of Object.entries(pkg.exports)) {
      if (sub === './package.json') continue;
      const types = (target as { types: string }).types;
      expect(readFileSync(join(dir, 'node_modules', 'privacy-log', types), 'utf8')).toMatch(/export /);
    }
  });
});
