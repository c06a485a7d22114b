/**
 * A corrupt spool record is skipped and counted; the rest replays.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, type PrivacyLogError } from '../../src/errors.js';
import { createPipeline } from '../../src/pipeline/create-pipeline.js';
import { HEADER_BYTES } from '../../src/pipeline/spool-record.js';
import { eventOf, idOf, invariantViolation, sinkDouble, until } from '../unit/pipeline/doubles.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Spools 5 batches of 10 events (ids 0..49) for aggregator "sink"; returns the segment path. */
async function spoolFiveBatches(): Promise<{ dir: string; segment: string; offsets: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pl-corrupt-'));
  dirs.push(dir);
  const p = createPipeline({
    aggregators: [sinkDouble('sink', 'fail')],
    batch: { maxEvents: 10, maxWaitMs: 60_000 },
    retry: { initialMs: 1, maxMs: 1, maxAttempts: 1 },
    spool: { dir },
    onError: () => undefined,
  });
  for (let i = 0; i < 50; i++) {
    p.push(eventOf(i));
    if (i % 10 === 9) await p.flush();
  }
  await p.close();
  expect(p.metrics().spoolPending).toBe(50);
  const segDir = join(dir, 'sink');
  const names = readdirSync(segDir).filter((n) => n.endsWith('.seg') && n !== 'dead-letter.seg');
  expect(names).toHaveLength(1);
  const segment = join(segDir, names[0] as string);
  const buf = readFileSync(segment);
  const offsets: number[] = [];
  for (let pos = 0; pos < buf.length; pos += HEADER_BYTES + buf.readUInt32LE(pos + 4)) offsets.push(pos);
  expect(offsets).toHaveLength(5);
  return { dir, segment, offsets };
}

async function replay(dir: string) {
  const errors: PrivacyLogError[] = [];
  const sink = sinkDouble('sink');
  const p = createPipeline({ aggregators: [sink], spool: { dir }, onError: (e) => errors.push(e) });
  await until(() => p.metrics().spoolPending === 0, 5000);
  const m = p.metrics();
  await p.close();
  return { sink, m, errors };
}

describe('a corrupt spool record', () => {
  it('a flipped payload byte: that record is skipped and counted, the other four replay', async () => {
    const { dir, segment, offsets } = await spoolFiveBatches();
    const buf = readFileSync(segment);
    const at = (offsets[2] as number) + HEADER_BYTES + 30;
    buf[at] = (buf[at] as number) ^ 0x20;
    writeFileSync(segment, buf);

    const { sink, m, errors } = await replay(dir);
    expect(m.aggregators.sink?.corrupt).toBe(1);
    expect(m).toMatchObject({ accepted: 40, recovered: 40, delivered: 40, spoolPending: 0 });
    expect(invariantViolation(m)).toBeUndefined();
    expect(errors.some((e) => e.code === ERROR_CODES.SPOOL_CORRUPT)).toBe(true);
    expect(sink.stored.size).toBe(40);
    for (let i = 0; i < 50; i++) expect(sink.stored.has(idOf(i))).toBe(i < 20 || i >= 30);
  });

  it('a garbled header: the scan resynchronises on the next record', async () => {
    const { dir, segment, offsets } = await spoolFiveBatches();
    const buf = readFileSync(segment);
    buf.writeUInt32LE(0x7fffffff, (offsets[1] as number) + 4); // absurd length
    writeFileSync(segment, buf);

    const { sink, m } = await replay(dir);
    expect(m.aggregators.sink?.corrupt).toBe(1);
    expect(sink.stored.size).toBe(40);
    for (let i = 0; i < 50; i++) expect(sink.stored.has(idOf(i))).toBe(i < 10 || i >= 20);
  });

  it('a torn tail (the file cut mid-record): the complete records replay', async () => {
    const { dir, segment, offsets } = await spoolFiveBatches();
    const buf = readFileSync(segment);
    writeFileSync(segment, buf.subarray(0, (offsets[4] as number) + 25));

    const { sink, m } = await replay(dir);
    expect(m.aggregators.sink?.corrupt).toBe(1);
    expect(sink.stored.size).toBe(40);
    expect(sink.stored.has(idOf(45))).toBe(false);
  });

  it('a skipped record is marked so a second restart does not count it again', async () => {
    const { dir, segment, offsets } = await spoolFiveBatches();
    const buf = readFileSync(segment);
    const at = (offsets[0] as number) + HEADER_BYTES + 5;
    buf[at] = (buf[at] as number) ^ 0x01;
    writeFileSync(segment, buf);
    // First start: the sink is down, so nothing replays; the corrupt record is counted once.
    const first = createPipeline({
      aggregators: [sinkDouble('sink', 'fail')],
      spool: { dir },
      retry: { initialMs: 60_000, maxMs: 60_000 },
      onError: () => undefined,
    });
    expect(first.metrics().aggregators.sink?.corrupt).toBe(1);
    expect(first.metrics().recovered).toBe(40);
    await first.close({ timeoutMs: 500 });
    const { m } = await replay(dir);
    expect(m.aggregators.sink?.corrupt).toBe(0);
    expect(m.delivered).toBe(40);
  });
});
