/**
 * SIGTERM under load: the child installs the shutdown handlers; on SIGTERM it
 * stops accepting, flushes to its (slow) aggregator, and exits with the signal.
 * Every event it accepted is stored: zero lost.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { seqOf, sinkDouble, until } from '../unit/pipeline/doubles.js';
import { spawnLoadChild } from './child.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SIGTERM under load', () => {
  it('loses nothing: every accepted event is stored (or spooled and replayed)', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-term-'));
    dirs.push(dir);
    const sinkFile = join(dir, 'stored.txt');
    const child = spawnLoadChild({
      SPOOL_DIR: join(dir, 'spool'),
      MODE: 'slow',
      SINK_FILE: sinkFile,
      SHUTDOWN: '1',
    });
    await until(() => child.last()[0] >= 20_000, 30_000, 20);
    child.proc.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGTERM'); // the handler re-raised the signal after closing
    const [accepted] = child.last();
    expect(accepted).toBeGreaterThanOrEqual(20_000);

    const ids = new Set(
      existsSync(sinkFile)
        ? readFileSync(sinkFile, 'utf8')
            .split('\n')
            .filter((l) => l.length > 0)
        : [],
    );
    // Anything close() had to spool instead (it should not need to) replays here.
    const sink = sinkDouble('sink');
    const p = createPipeline({ aggregators: [sink], spool: { dir: join(dir, 'spool') } });
    await until(() => p.metrics().spoolPending === 0, 20_000);
    await p.close();
    for (const id of sink.stored.keys()) ids.add(id);

    expect(ids.size).toBe(accepted);
    for (const id of ids) expect(seqOf(id)).toBeLessThan(accepted);
  });
});
