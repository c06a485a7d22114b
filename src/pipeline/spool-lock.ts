/**
 * One owner per spool directory: a LOCK file holding the owner's process id,
 * and a set of the directories this process has open. A second pipeline on
 * the same directory (in this process, or in another live one) would
 * interleave appends; a lock left by a process that died is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Holds the owning process id while a spool directory is open. */
export const LOCK_FILE = 'LOCK';

/** Spool directories open in this process. */
const openInProcess = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** The lock taken (`release` gives it back, once), or who holds it. */
export type SpoolLock = { release: () => void; heldBy?: undefined } | { heldBy: string; release?: undefined };

/**
 * Takes the directory's lock, unless a live owner holds it. The directory must exist.
 *
 * @example
 * const lock = lockSpoolDir('./data/spool/sqlite');
 * if (lock.heldBy) console.warn(`in use by ${lock.heldBy}`);
 * else lock.release(); // on close
 */
export function lockSpoolDir(dir: string): SpoolLock {
  const key = resolve(dir);
  if (openInProcess.has(key)) return { heldBy: 'another pipeline in this process' };
  const path = join(dir, LOCK_FILE);
  let owner: number | undefined;
  try {
    owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {
    owner = undefined;
  }
  if (owner !== undefined && Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
    return { heldBy: `process ${owner}` };
  }
  // Absent, or left by a process that died (SIGKILL, crash): take it over.
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  openInProcess.add(key);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      openInProcess.delete(key);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
