/**
 * The spool cannot be written (a read-only directory, a full disk) while the
 * aggregator is down: a real Koa app keeps serving every request; the events
 * that could not be kept are counted as dropped and reported as SPOOL_WRITE.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, type PrivacyLogError } from '../../src/errors.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import type { Pipeline } from '../../src/pipeline/types.js';
import { eventOf, invariantViolation, sinkDouble, until } from '../unit/pipeline/doubles.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A minimal real Koa app whose every request pushes one event. */
function appWith(pipeline: Pipeline): Koa {
  const app = new Koa();
  let n = 0;
  app.use((ctx) => {
    pipeline.push(eventOf(n++));
    ctx.body = 'ok';
  });
  return app;
}

function makeReadOnly(dir: string): boolean {
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' }); // root ignores mode bits, not the immutable flag
    cleanups.push(() => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' }));
    return true;
  } catch {
    return false;
  }
}

async function serveWhileSpoolFails(
  spoolDir: string,
  afterCreate?: () => void,
): Promise<{ errors: PrivacyLogError[]; p: Pipeline }> {
  const errors: PrivacyLogError[] = [];
  const p = createPipeline({
    aggregators: [sinkDouble('down', 'fail')],
    batch: { maxEvents: 10, maxWaitMs: 5 },
    retry: { initialMs: 1, maxMs: 2, maxAttempts: 2 },
    spool: { dir: spoolDir },
    onError: (e) => errors.push(e),
  });
  cleanups.push(() => void p.close({ timeoutMs: 500 }).catch(() => undefined));
  afterCreate?.();
  const server = appWith(p).listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  for (let i = 0; i < 60; i++) {
    const res = await request(server).get(`/page/${i}`);
    expect(res.status).toBe(200);
  }
  await p.flush({ timeoutMs: 5000 });
  await until(() => p.metrics().dropped === 60, 5000);
  return { errors, p };
}

describe('the spool cannot be written', () => {
  it('read-only spool directory: requests are served, the loss is counted and reported', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pl-ro-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const spoolDir = join(root, 'spool');
    mkdirSync(spoolDir);
    if (!makeReadOnly(spoolDir)) {
      execFileSync('chmod', ['0555', spoolDir]);
      cleanups.push(() => execFileSync('chmod', ['0755', spoolDir]));
    }
    const { errors, p } = await serveWhileSpoolFails(spoolDir);
    const m = p.metrics();
    expect(m).toMatchObject({ accepted: 60, dropped: 60, delivered: 0, spoolPending: 0, queued: 0 });
    expect(invariantViolation(m)).toBeUndefined();
    expect(errors.some((e) => e.code === ERROR_CODES.SPOOL_WRITE)).toBe(true);
  });

  it('full disk (ENOSPC): requests are served, the loss is counted and reported', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pl-full-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const spoolDir = join(root, 'spool', 'down');
    mkdirSync(spoolDir, { recursive: true });
    // Once the pipeline has scanned its (empty) spool, the segments it will create
    // are made /dev/full: every write fails with ENOSPC, as on a full disk.
    const { errors, p } = await serveWhileSpoolFails(join(root, 'spool'), () => {
      // After a failed append the spool starts a fresh segment: make the next ones full too.
      for (let seq = 1; seq <= 100; seq++) {
        symlinkSync('/dev/full', join(spoolDir, `${String(seq).padStart(12, '0')}.seg`));
      }
    });
    expect(p.metrics()).toMatchObject({ accepted: 60, dropped: 60 });
    const spoolErrors = errors.filter((e) => e.code === ERROR_CODES.SPOOL_WRITE);
    expect(spoolErrors.length).toBeGreaterThan(0);
    expect(spoolErrors.some((e) => e.details?.errno === 'ENOSPC')).toBe(true);
  });
});
