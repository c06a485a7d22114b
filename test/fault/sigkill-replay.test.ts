/**
 * SIGKILL mid-load: a child process pushes events while its aggregator is down,
 * so batches go to the spool; it is killed with SIGKILL; a new pipeline on the
 * same spool replays. What is missing is what the child still held in memory
 * (the open batch and the batch being retried) — never anything it had spooled.
 * The page cache survives SIGKILL, so the fsync interval does not change this
 * figure; fsync only matters when the machine itself goes down.
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

describe('SIGKILL of a server mid-load', () => {
  it.each([0, 500])('the spool replays after a restart (fsyncIntervalMs %i)', { timeout: 60_000 }, async (fsyncMs) => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-kill-'));
    dirs.push(dir);
    const child = spawnLoadChild({ SPOOL_DIR: dir, FSYNC_MS: String(fsyncMs), MODE: 'down' });
    // Let it run until a good amount is spooled (bounded in time).
    await until(() => child.last()[1] >= 20_000, 30_000, 20);
    child.proc.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    const [accepted, spooledAtLastReport] = child.last();

    const sink = sinkDouble('sink');
    const p = createPipeline({ aggregators: [sink], spool: { dir }, onError: () => undefined });
    const recovered = p.metrics().recovered ?? 0;
    expect(recovered).toBeGreaterThanOrEqual(spooledAtLastReport);
    await until(() => p.metrics().spoolPending === 0, 30_000, 20);
    await p.close({ timeoutMs: 5000 });

    // Every recovered event was delivered, once, and nothing was invented.
    expect(sink.stored.size).toBe(recovered);
    expect(sink.duplicates).toBe(0);
    for (const id of sink.stored.keys()) expect(seqOf(id)).toBeLessThan(accepted + 50);
    // What is missing is bounded by what the child held in memory at the kill.
    const missing = accepted - Math.min(accepted, sink.stored.size);
    expect(missing).toBeLessThanOrEqual(accepted - spooledAtLastReport + 50);
    // The measured figure (see docs/operators.md, "What can be lost").
    console.log(
      `[sigkill fsync=${fsyncMs}ms] accepted ${accepted}, recovered ${recovered}, missing ${missing} (${(
        (100 * missing) / accepted
      ).toFixed(2)} %)`,
    );
  });
});

describe('SIGKILL while the aggregator is up (and slow)', () => {
  it('loses at most what was in memory: the open batch and the batches waiting for the store', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pl-kill-up-'));
    dirs.push(dir);
    const sinkFile = join(dir, 'stored.txt');
    const child = spawnLoadChild({ SPOOL_DIR: join(dir, 'spool'), MODE: 'slow', SINK_FILE: sinkFile });
    await until(() => child.last()[0] >= 20_000, 30_000, 20);
    child.proc.kill('SIGKILL');
    await child.exited;
    const [accepted] = child.last();
    const ids = new Set(existsSync(sinkFile) ? readFileSync(sinkFile, 'utf8').split('\n').filter(Boolean) : []);
    const sink = sinkDouble('sink');
    const p = createPipeline({ aggregators: [sink], spool: { dir: join(dir, 'spool') }, onError: () => undefined });
    await until(() => p.metrics().spoolPending === 0, 30_000, 20);
    await p.close({ timeoutMs: 5000 });
    for (const id of sink.stored.keys()) ids.add(id);
    for (const id of ids) expect(seqOf(id)).toBeLessThan(accepted + 50);
    const missing = Math.max(0, accepted - ids.size);
    // The child's pipeline holds at most queue.maxEvents (10 000) per aggregator plus the open batch.
    expect(missing).toBeLessThanOrEqual(10_000 + 100 + 50);
    console.log(
      `[sigkill, aggregator up] accepted ${accepted}, stored ${ids.size}, missing ${missing} (${(
        (100 * missing) / accepted
      ).toFixed(2)} %)`,
    );
  });
});
