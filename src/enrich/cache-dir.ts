/**
 * Where privacy-log keeps rebuildable caches (the binary ASN table): the
 * operating system's per-user cache directory.
 */
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Folder name under the OS cache directory. */
export const CACHE_DIR_NAME = 'privacy-log';

/**
 * `$XDG_CACHE_HOME/privacy-log` or `~/.cache/privacy-log` on Linux and other
 * Unix systems, `~/Library/Caches/privacy-log` on macOS,
 * `%LOCALAPPDATA%\privacy-log\Cache` on Windows; the temp directory when there
 * is no home directory.
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  let home: string;
  try {
    home = homedir();
  } catch {
    return join(tmpdir(), CACHE_DIR_NAME);
  }
  if (home === '') return join(tmpdir(), CACHE_DIR_NAME);
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), CACHE_DIR_NAME, 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', CACHE_DIR_NAME);
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(home, '.cache'), CACHE_DIR_NAME);
}
