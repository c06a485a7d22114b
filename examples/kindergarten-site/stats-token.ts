/**
 * The admin dashboard's token: given (STATS_TOKEN), or generated once on first
 * start into the data directory (mode 0600) and read from there afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATS_TOKEN_FILE = 'stats-token';
const MIN_TOKEN_LENGTH = 16;

export interface StatsToken {
  token: string;
  /** Where it came from: the option, an existing file, or a file created now. */
  source: 'given' | 'file' | 'created';
  /** The file holding it, unless it was given. */
  file?: string;
}

export function loadStatsToken(dataDir: string, given: string | undefined): StatsToken {
  if (given !== undefined && given !== '') {
    if (given.length < MIN_TOKEN_LENGTH) {
      throw new Error(
        `The stats token must be at least ${MIN_TOKEN_LENGTH} characters long; set a longer STATS_TOKEN.`,
      );
    }
    return { token: given, source: 'given' };
  }
  const file = join(dataDir, STATS_TOKEN_FILE);
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= MIN_TOKEN_LENGTH) return { token, source: 'file', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, source: 'created', file };
}
