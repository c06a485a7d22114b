/**
 * Makes a source tree to benchmark against (`npm run bench -- --variant name=dir`):
 * a copy of this working tree's sources (src, middleware, bench, package.json,
 * tsconfig.json) with node_modules linked, and optionally some commits taken
 * back out (their diff to src/ and middleware/ reverse-applied), so "before"
 * and "after" a change run in one session on the same machine.
 *
 *   npx tsx bench/lib/snapshot-tree.ts <dir> [--without <commit>]... [--without-patch <file.diff>]...
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COPIED = ['src', 'middleware', 'bench', 'package.json', 'tsconfig.json'];

export function snapshotTree(dir: string, without: readonly string[], withoutPatches: readonly string[] = []): void {
  const target = resolve(dir);
  if (target === ROOT || target.startsWith(`${ROOT}/`))
    throw new Error('the snapshot must be outside the working tree');
  if (existsSync(target)) rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const item of COPIED) cpSync(join(ROOT, item), join(target, item), { recursive: true });
  rmSync(join(target, 'bench', 'results'), { recursive: true, force: true });
  symlinkSync(join(ROOT, 'node_modules'), join(target, 'node_modules'));
  for (const commit of without) {
    const diff = execFileSync('git', ['-C', ROOT, 'diff', `${commit}~1`, commit, '--', 'src', 'middleware'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (diff.trim() === '') continue;
    execFileSync('git', ['apply', '-R', '--whitespace=nowarn', '-'], { cwd: target, input: diff });
  }
  for (const patch of withoutPatches) {
    // patch(1) tolerates context that moved since the diff was taken (fuzz), unlike git apply.
    execFileSync('patch', ['-R', '-p1', '--fuzz=2', '--no-backup-if-mismatch', '-i', resolve(patch)], {
      cwd: target,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
}

if (process.argv[1]?.endsWith('snapshot-tree.ts')) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: snapshot-tree.ts <dir> [--without <commit>]...');
  const without: string[] = [];
  const patches: string[] = [];
  for (let i = 3; i < process.argv.length; i++) {
    if (process.argv[i] === '--without' && process.argv[i + 1]) without.push(process.argv[++i] as string);
    else if (process.argv[i] === '--without-patch' && process.argv[i + 1]) patches.push(process.argv[++i] as string);
  }
  snapshotTree(dir, without, patches);
  const taken = [...without, ...patches];
  process.stdout.write(`${resolve(dir)}${taken.length ? ` (without ${taken.join(', ')})` : ''}\n`);
}
