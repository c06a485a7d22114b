import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch } from '../../../src/aggregators/aggregator.js';
import type { PrivacyLogError } from '../../../src/errors.js';
import type { ResolvedSpoolOptions } from '../../../src/pipeline/options.js';
import { Spool, type SpoolRef } from '../../../src/pipeline/spool.js';
import {
  decodeHeader,
  encodeRecord,
  encodeRecordSliced,
  HEADER_BYTES,
  scanRecords,
} from '../../../src/pipeline/spool-record.js';
import { eventOf } from './doubles.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pl-spool-'));
  dirs.push(d);
  return d;
}
function batchOf(from: number, n: number): Batch {
  return {
    events: Array.from({ length: n }, (_, i) => eventOf(from + i)),
    sketches: [{ day: '2026-11-24', site: 'oblachko', dimension: 'site', value: '', registers: [[1, 2]] }],
  };
}
function id(n: number): Buffer {
  return Buffer.alloc(16, n);
}
const OPTS: ResolvedSpoolOptions = { dir: '', fsyncIntervalMs: 0, maxBytes: 1024 * 1024, segmentBytes: 64 * 1024 };

function spoolAt(dir: string, opts: Partial<ResolvedSpoolOptions> = {}) {
  const evicted: SpoolRef[] = [];
  const errors: PrivacyLogError[] = [];
  const spool = new Spool(
    dir,
    { ...OPTS, ...opts },
    { onEvict: (r) => evicted.push(r), report: (_k, e) => errors.push(e) },
  );
  return { spool, evicted, errors };
}

describe('spool records', () => {
  it('scanRecords finds pending records, skips a bad checksum, resynchronises after garbage, counts a torn tail', () => {
    const a = encodeRecord(id(1), batchOf(0, 2));
    const b = encodeRecord(id(2), batchOf(2, 3));
    expect(scanRecords(Buffer.concat([a, b]))).toEqual({
      pending: [
        { offset: 0, size: a.length, count: 2, batchId: id(1) },
        { offset: a.length, size: b.length, count: 3, batchId: id(2) },
      ],
      skipped: [],
      bad: 0,
    });
    const damaged = Buffer.from(a);
    damaged[HEADER_BYTES + 3] = (damaged[HEADER_BYTES + 3] ?? 0) ^ 0xff; // a payload byte
    expect(scanRecords(Buffer.concat([damaged, b]))).toMatchObject({ skipped: [0], bad: 1, pending: [{ count: 3 }] });
    const garbage = Buffer.from('not a record');
    expect(scanRecords(Buffer.concat([garbage, b]))).toMatchObject({
      bad: 1,
      pending: [{ offset: garbage.length, count: 3 }],
    });
    expect(scanRecords(Buffer.concat([a, b.subarray(0, b.length - 1)]))).toMatchObject({
      bad: 1,
      pending: [{ offset: 0, count: 2 }],
    });
    expect(scanRecords(Buffer.concat([a, Buffer.alloc(16)])).bad).toBe(0); // a zero tail shorter than a header is not damage
  });

  it('round-trip a batch through encode and a header decode', () => {
    const rec = encodeRecord(id(7), batchOf(0, 3));
    const h = decodeHeader(rec, 0);
    expect(h).toMatchObject({ payloadLength: rec.length - HEADER_BYTES, count: 3, state: 0 });
    expect(h?.batchId.equals(id(7))).toBe(true);
  });

  it('decodeHeader never throws and rejects any single-byte change of the header', () => {
    const rec = encodeRecord(id(1), batchOf(0, 2));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 35 }), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
        const copy = Buffer.from(rec);
        copy[pos] = (copy[pos] as number) ^ xor;
        expect(decodeHeader(copy, 0)).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(250), (bytes, pos) => {
        expect(() => decodeHeader(Buffer.from(bytes), pos)).not.toThrow();
      }),
    );
  });
});

describe('Spool', () => {
  it('appends, reads back, acknowledges, and a restart sees only what was not acknowledged', async () => {
    const dir = tmp();
    const { spool } = spoolAt(dir);
    expect(spool.open()).toEqual([]);
    const r1 = await spool.appendAsync(id(1), batchOf(0, 2));
    const r2 = await spool.appendAsync(id(2), batchOf(2, 3));
    expect(spool.pendingEvents).toBe(5);
    expect(spool.head()).toBe(r1);
    expect(spool.read(r1)?.events.map((e) => e.id)).toEqual([eventOf(0).id, eventOf(1).id]);
    spool.ack(r1);
    expect(spool.head()).toBe(r2);
    await spool.close();

    const again = spoolAt(dir).spool;
    const refs = again.open();
    expect(refs).toHaveLength(1);
    expect(refs[0]?.count).toBe(3);
    expect(refs[0]?.batchId.equals(id(2))).toBe(true);
    expect(again.read(refs[0] as SpoolRef)?.sketches).toHaveLength(1);
    again.ack(refs[0] as SpoolRef);
    await again.close();
    expect(spoolAt(dir).spool.open()).toEqual([]);
  });

  it('rolls segments and evicts the oldest beyond maxBytes, reporting each lost record', async () => {
    const dir = tmp();
    const { spool, evicted, errors } = spoolAt(dir, { maxBytes: 64 * 1024, segmentBytes: 16 * 1024 });
    spool.open();
    const size = encodeRecord(id(0), batchOf(0, 10)).length;
    const n = Math.ceil((3 * 64 * 1024) / size);
    for (let i = 0; i < n; i++) spool.append(id(i), batchOf(i * 10, 10), () => undefined);
    await spool.whenIdle();
    expect(spool.bytes).toBeLessThanOrEqual(64 * 1024 + size);
    expect(evicted.length).toBeGreaterThan(0);
    expect(spool.evictedRecords).toBe(evicted.length);
    expect(spool.pendingRecords + evicted.length).toBe(n);
    // The oldest went first.
    expect(evicted[0]?.batchId.equals(id(0))).toBe(true);
    expect(spool.head()?.batchId.equals(id(evicted.length))).toBe(true);
    expect(errors).toEqual([]); // eviction is reported by the owner (the lane), not here
  });

  it('refuses a record larger than maxBytes with SPOOL_WRITE', async () => {
    const { spool } = spoolAt(tmp(), { maxBytes: 64 * 1024 });
    spool.open();
    await expect(spool.appendAsync(id(1), batchOf(0, 200))).rejects.toThrow(/larger than spool.maxBytes/);
    expect(spool.pendingEvents).toBe(0);
    await spool.close();
  });

  it('a record corrupted after the startup scan is caught at read time', async () => {
    const dir = tmp();
    const { spool } = spoolAt(dir);
    spool.open();
    await spool.appendAsync(id(1), batchOf(0, 2));
    await spool.close();
    const again = spoolAt(dir);
    const [ref] = again.spool.open();
    const file = join(dir, '000000000001.seg');
    const buf = readFileSync(file);
    buf[HEADER_BYTES + 3] = (buf[HEADER_BYTES + 3] as number) ^ 0xff;
    writeFileSync(file, buf);
    expect(again.spool.read(ref as SpoolRef)).toBeUndefined();
    expect(again.spool.corrupt).toBe(1);
    expect(again.errors[0]?.code).toBe('PRIVACY_LOG_E_SPOOL_CORRUPT');
  });

  it('keeps refused batches in a dead-letter file that is never replayed', async () => {
    const dir = tmp();
    const { spool } = spoolAt(dir);
    spool.open();
    expect(spool.deadLetter(id(9), batchOf(0, 2))).toBe(true);
    expect(spool.deadLettered).toBe(1);
    await spool.close();
    expect(decodeHeader(readFileSync(join(dir, 'dead-letter.seg')), 0)?.count).toBe(2);
    expect(spoolAt(dir).spool.open()).toEqual([]);
  });

  it('recovers every intact record whatever single region of a segment is damaged (property)', async () => {
    const dir = tmp();
    const { spool } = spoolAt(dir);
    spool.open();
    for (let i = 0; i < 6; i++) spool.append(id(i), batchOf(i * 4, 4), () => undefined);
    await spool.close();
    const file = join(dir, '000000000001.seg');
    const pristine = readFileSync(file);
    const starts: number[] = [];
    for (let p = 0; p < pristine.length; p += HEADER_BYTES + pristine.readUInt32LE(p + 4)) starts.push(p);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(pristine.length - 1),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, len, xor) => {
          const buf = Buffer.from(pristine);
          for (let i = at; i < Math.min(buf.length, at + len); i++) buf[i] = (buf[i] as number) ^ xor;
          writeFileSync(file, buf);
          const s = spoolAt(dir, { fsyncIntervalMs: 1000 }).spool;
          const refs = s.open();
          // Records untouched by the damage all survive, with their data intact.
          const damagedEnd = at + len;
          const untouched = starts.filter((st, i) => {
            const end = starts[i + 1] ?? pristine.length;
            return end <= at || st >= damagedEnd;
          });
          for (const st of untouched) {
            const ref = refs.find((r) => r.offset === st);
            expect(ref).toBeDefined();
            expect(s.read(ref as SpoolRef)?.events).toHaveLength(4);
          }
          expect(refs.length + s.corrupt).toBeGreaterThanOrEqual(untouched.length);
          await s.close();
          writeFileSync(file, pristine);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('locks its directory: a second owner in this process or a live process gets no spool', async () => {
    const dir = tmp();
    const first = spoolAt(dir);
    first.spool.open();
    await first.spool.appendAsync(id(1), batchOf(0, 1));
    const second = spoolAt(dir);
    expect(second.spool.open()).toEqual([]); // does not replay what the owner holds
    expect(second.errors[0]?.message).toMatch(/in use by another pipeline in this process/);
    await expect(second.spool.appendAsync(id(2), batchOf(1, 1))).rejects.toThrow(/in use/);
    await first.spool.close();

    writeFileSync(join(dir, 'LOCK'), String(process.ppid)); // a live process that is not us
    const third = spoolAt(dir);
    expect(third.spool.open()).toEqual([]);
    expect(third.errors[0]?.message).toMatch(new RegExp(`in use by process ${process.ppid}`));
  });

  it('takes over the lock of a process that died', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'LOCK'), '4194303'); // above the default pid_max: no such process
    const { spool } = spoolAt(dir);
    spool.open();
    await expect(spool.appendAsync(id(1), batchOf(0, 1))).resolves.toMatchObject({ count: 1 });
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await spool.close();
  });

  it("never writes on the caller's turn: the record and its counters appear once the writer has written it", async () => {
    const dir = tmp();
    const { spool } = spoolAt(dir, { fsyncIntervalMs: 500 });
    spool.open();
    let written: SpoolRef | undefined;
    spool.append(id(1), batchOf(0, 120), (err, ref) => {
      expect(err).toBeUndefined();
      written = ref;
    });
    // Nothing happened yet on this turn: no file, no counters.
    expect(spool.pendingEvents).toBe(0);
    expect(spool.queuedEvents).toBe(120);
    expect(readdirSync(dir).filter((n) => n.endsWith('.seg'))).toEqual([]);
    await spool.whenIdle();
    expect(written?.count).toBe(120);
    expect(spool.pendingEvents).toBe(120);
    expect(spool.queuedEvents).toBe(0);
    expect(readFileSync(join(dir, '000000000001.seg')).length).toBe(written?.size);
    await spool.close();
  });

  it('keeps queue order across many queued appends and segment rolls, and close() writes everything queued', async () => {
    const dir = tmp();
    const { spool } = spoolAt(dir, { segmentBytes: 16 * 1024, maxBytes: 1024 * 1024 });
    spool.open();
    const done: number[] = [];
    for (let i = 0; i < 40; i++) spool.append(id(i), batchOf(i * 7, 7), (err) => err === undefined && done.push(i));
    await spool.close(); // waits for the writer
    expect(done).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const again = spoolAt(dir).spool;
    const refs = again.open();
    expect(refs.map((r) => r.batchId[0])).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(again.read(refs[39] as SpoolRef)?.events[6]?.id).toBe(eventOf(39 * 7 + 6).id);
    await again.close();
    // After close, an append is refused (and reported to its callback), never written.
    await expect(spool.appendAsync(id(99), batchOf(0, 1))).rejects.toThrow(/closed/);
  });
});

describe('encodeRecordSliced', () => {
  it('writes exactly the bytes of encodeRecord, whatever the slice size (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(60), fc.nat(40), fc.integer({ min: 1, max: 30 }), async (events, sketches, slice) => {
        const batch: Batch = {
          events: Array.from({ length: events }, (_, i) => eventOf(i)),
          sketches: Array.from({ length: sketches }, (_, i) => ({
            day: '2026-11-24',
            site: 'oblachko',
            dimension: 'page',
            value: `/p/${i}\u2028"`,
            registers: [[i, 3]] as Array<[number, number]>,
          })),
        };
        let pauses = 0;
        const { chunks, length } = await encodeRecordSliced(id(5), batch, async () => void pauses++, 0, slice);
        const whole = encodeRecord(id(5), batch);
        expect(length).toBe(whole.length);
        expect(Buffer.concat(chunks).equals(whole)).toBe(true);
        // With no time budget it yields after every `slice` elements of each array, never after the last.
        expect(pauses).toBe(
          Math.floor(Math.max(0, events - 1) / slice) + Math.floor(Math.max(0, sketches - 1) / slice),
        );
      }),
      { numRuns: 60 },
    );
  });
});
