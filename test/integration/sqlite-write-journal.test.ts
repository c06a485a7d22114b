import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FOLD_EVERY_BATCHES, sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import {
  encodeJournalSketches,
  FoldAccumulator,
  SketchDelta,
  SketchMerge,
  sumsForFold,
} from '../../src/aggregators/sqlite/write-journal.js';
import type { PrivacyLogError } from '../../src/errors.js';
import { HLL_REGISTERS, HyperLogLog } from '../../src/stats/hll.js';
import type { StatsQuery } from '../../src/stats/query.js';
import { makeEvent, sketchUpdatesFor } from '../conformance/dataset.js';
import { eventArb } from '../helpers/event-arbitrary.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-sqlite-journal-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('sqliteAggregator: raw events in blocks', () => {
  it('gives back every stored event exactly (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 20 }), async (events) => {
        const file = join(dir, `doc-${n++}.db`);
        const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
        await a.write({ events, sketches: [] });
        const back = await a.readEvents();
        await a.close();
        expect(back).toEqual(events);
        expect(back.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
      }),
      { numRuns: 40 },
    );
  });

  it('stores a block in well under half the bytes of the events as JSON, each id and session id once', async () => {
    const events = Array.from({ length: 200 }, (_, i) =>
      makeEvent({
        time: `2026-03-10T10:${String(i % 60).padStart(2, '0')}:00.000Z`,
        path: `/p${i % 7}`,
        browser: i % 2 ? 'Firefox' : 'Chrome',
        session: `s-${i % 13}`,
      }),
    );
    const file = join(dir, 'bytes.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    await a.write({ events, sketches: [] });
    await a.close();
    const db = new Database(file, { readonly: true });
    const b = db
      .prepare(
        `SELECT n, length(cols) + length(dict) + length(sessions) + length(ids) + length(rest) AS bytes,
         CAST(cols AS TEXT) || dict || CAST(rest AS TEXT) AS other, ids, sessions FROM event_blocks`,
      )
      .get() as { n: number; bytes: number; other: string; ids: string; sessions: string };
    const indexed = db.prepare('SELECT count(*) FROM event_ids').pluck().get();
    db.close();
    expect(b.n).toBe(200);
    expect(indexed).toBe(200);
    expect(b.bytes).toBeLessThan(JSON.stringify(events).length / 2);
    expect(JSON.parse(b.ids)).toEqual(events.map((e) => e.id));
    expect(JSON.parse(b.sessions)).toHaveLength(13);
    for (const e of events.slice(0, 20)) expect(b.other).not.toContain(e.id);
    expect(b.other).not.toContain('s-1');
  });
});

const DAY = '2026-03-10';
/**
 * The events here are dated months back: with the default 30 days, the store's first retention pass
 * (one second after opening) deletes them while a slow test is still checking counts.
 */
const KEEP_DAYS = 36_500;
const pageviews: StatsQuery = { type: 'breakdown', period: 'day', date: DAY, property: 'page', metrics: ['pageviews'] };
const visitors: StatsQuery = { type: 'aggregate', period: 'day', date: DAY, metrics: ['pageviews', 'visitors'] };

function batch(from: number, n: number, path = '/p') {
  const events = Array.from({ length: n }, (_, i) =>
    makeEvent({ time: `${DAY}T${String((from + i) % 24).padStart(2, '0')}:00:00.000Z`, path }),
  );
  return {
    events,
    sketches: sketchUpdatesFor(
      events,
      events.map((_, i) => `visitor-${from + i}`),
    ),
  };
}

describe('sqliteAggregator: the write journal', () => {
  it('counts a batch that replays some stored events and adds new ones once each', async () => {
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file: join(dir, 'replay.db') });
    const first = batch(0, 10);
    await a.write(first);
    const second = batch(10, 5);
    // Old events in the middle of the batch: the insert path switches to collecting the new rows one by one.
    await a.write({
      events: [...second.events.slice(0, 2), ...first.events, ...second.events.slice(2)],
      sketches: [...first.sketches, ...second.sketches],
    });
    await a.write(first);
    expect((await a.query(pageviews)).results).toEqual([{ value: '/p', pageviews: 15 }]);
    expect((await a.query(visitors)).results).toEqual([{ pageviews: 15, visitors: 15 }]);
    await a.close();
  });

  it('counts each new event once in large batches mixing stored events, new ones and an id repeated in the batch', async () => {
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file: join(dir, 'replay-large.db') });
    const old = batch(0, 70);
    await a.write(old);
    const fresh = batch(70, 90);
    // Old and new interleaved across several multi-row statements, plus one new event twice in a row.
    const mixed = fresh.events.flatMap((e, i) => (i < old.events.length ? [old.events[i]!, e] : [e]));
    mixed.splice(40, 0, fresh.events[19]!);
    await a.write({ events: mixed, sketches: fresh.sketches });
    await a.write({ events: [...old.events, ...fresh.events], sketches: [] });
    expect((await a.query(pageviews)).results).toEqual([{ value: '/p', pageviews: 160 }]);
    expect((await a.query(visitors)).results).toEqual([{ pageviews: 160, visitors: 160 }]);
    await a.close();
    const db = new Database(join(dir, 'replay-large.db'), { readonly: true });
    expect(db.prepare('SELECT sum(n) AS n FROM event_blocks').get()).toEqual({ n: 160 });
    expect(db.prepare('SELECT sum(events) AS n FROM rollup_slot').get()).toEqual({ n: 160 });
    db.close();
  });

  it('never counts twice when another connection folds some of our journal rows', async () => {
    const file = join(dir, 'two.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    await a.write(batch(0, 10, '/a'));
    await a.write(batch(10, 10, '/a'));
    // b folds a's two rows before its own read (as a restart after a crash would).
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    expect((await b.query(pageviews)).results).toEqual([{ value: '/a', pageviews: 20 }]);
    // a writes more: its in-memory sums still hold the two rows b folded, and must not be applied.
    await a.write(batch(20, 3, '/a'));
    await b.write(batch(23, 5, '/b'));
    const expected = [
      { value: '/a', pageviews: 23 },
      { value: '/b', pageviews: 5 },
    ];
    expect((await a.query(pageviews)).results).toEqual(expected);
    expect((await b.query(pageviews)).results).toEqual(expected);
    expect((await a.query(visitors)).results).toEqual([{ pageviews: 28, visitors: 28 }]);
    await Promise.all([a.close(), b.close()]);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM pending').get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT sum(events) AS n FROM rollup_day WHERE dimension = 'page' AND day = ?").get(DAY)).toEqual(
      { n: 28 },
    );
    db.close();
  });

  it('counts every event once whatever two connections interleave: scheduled folds, reads, writes in between (property)', async () => {
    // A step: one connection writes `n` one-event batches (a scheduled fold every FOLD_EVERY_BATCHES), reads, or
    // lets turns pass.
    const step = fc.oneof(
      fc.record({
        who: fc.nat(1),
        op: fc.constant('write' as const),
        n: fc.integer({ min: 1, max: FOLD_EVERY_BATCHES + 30 }),
      }),
      fc.record({ who: fc.nat(1), op: fc.constant('read' as const), n: fc.constant(0) }),
      fc.record({ who: fc.nat(1), op: fc.constant('turns' as const), n: fc.integer({ min: 1, max: 40 }) }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const file = join(dir, `interleaved-${run++}.db`);
        const stores = [0, 1].map(() => sqliteAggregator({ retentionDays: KEEP_DAYS, file }));
        let written = 0;
        const turns = async (n: number) => {
          for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
        };
        try {
          for (const s of steps) {
            const store = stores[s.who]!;
            if (s.op === 'write') {
              // Not awaited one by one: the next write starts while the previous one's slices and folds run.
              const writes: Array<Promise<void>> = [];
              for (let i = 0; i < s.n; i++) {
                writes.push(store.write(batch(written, 1, s.who === 0 ? '/a' : '/b')));
                written++;
                if (i % 7 === 0) await turns(1);
              }
              await Promise.all(writes);
            } else if (s.op === 'read') {
              const total = (await store.query(visitors)).results[0]?.pageviews ?? 0;
              expect(total).toBe(written);
            } else await turns(s.n);
          }
          for (const store of stores) expect((await store.query(visitors)).results[0]?.pageviews ?? 0).toBe(written);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
        const db = new Database(file, { readonly: true });
        try {
          expect(db.prepare('SELECT count(*) FROM pending').pluck().get()).toBe(0);
          expect(db.prepare('SELECT coalesce(sum(n), 0) FROM event_blocks').pluck().get()).toBe(written);
          expect(db.prepare('SELECT coalesce(sum(events), 0) FROM rollup_slot').pluck().get()).toBe(written);
          expect(
            db.prepare("SELECT coalesce(sum(events), 0) FROM rollup_day WHERE dimension = 'page'").pluck().get(),
          ).toBe(written);
        } finally {
          db.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it('folds from memory when all its rows are there, and from the rows when a write of another connection is pending', async () => {
    const file = join(dir, 'mixed.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    await a.write(batch(0, 6, '/a'));
    await b.write(batch(6, 7, '/b'));
    await a.write(batch(13, 2, '/a'));
    // a folds all three rows: two from its sums, b's by recomputing from the event rows it names.
    expect((await a.query(pageviews)).results).toEqual([
      { value: '/a', pageviews: 8 },
      { value: '/b', pageviews: 7 },
    ]);
    // b's sums hold its row, which a folded: b's fold must not add it again.
    expect((await b.query(visitors)).results).toEqual([{ pageviews: 15, visitors: 15 }]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('sumsForFold (when a fold may use the in-memory sums)', () => {
  const sumsOf = (...ids: number[]) => {
    const a = new FoldAccumulator();
    for (const id of ids) a.add(undefined, encodeJournalSketches([]), id);
    return a;
  };
  const rows = (mine: number[], theirs: number[] = []) =>
    [...mine.map((id) => ({ id, mine: 1 as const })), ...theirs.map((id) => ({ id, mine: 0 as const }))].sort(
      (x, y) => x.id - y.id,
    );

  it('a whole fold uses every sum when as many of its rows are there, else none', () => {
    const frozen = { sums: sumsOf(1, 2) };
    const pending = sumsOf(5);
    expect(sumsForFold(rows([1, 2, 5], [3, 4]), undefined, frozen, pending)).toEqual([frozen.sums, pending]);
    expect(sumsForFold(rows([1, 5], [3]), undefined, frozen, pending)).toBeUndefined();
    expect(sumsForFold(rows([5]), undefined, undefined, pending)).toEqual([pending]);
  });

  it('a scheduled fold uses the frozen sums only for exactly their rows, and never when a newer row took an old id', () => {
    const frozen = { sums: sumsOf(1, 2, 3) };
    // Our rows up to 3 are exactly the frozen ones; another connection's rows do not matter.
    expect(sumsForFold(rows([1, 2, 3], [4]), 3, frozen, sumsOf(6))).toEqual([frozen.sums]);
    // Another connection folded row 2: decode.
    expect(sumsForFold(rows([1, 3]), 3, frozen, sumsOf(6))).toBeUndefined();
    // Another connection folded the whole journal, and our next rows got ids 1-3 again: decode, although the ids match.
    expect(sumsForFold(rows([1, 2, 3]), 3, frozen, sumsOf(1, 2, 3))).toBeUndefined();
    expect(sumsForFold(rows([1, 2, 3]), 3, undefined, sumsOf())).toBeUndefined();
  });
});

describe('SketchDelta (the fold’s in-memory sketch per key)', () => {
  const pairArb = fc.tuple(fc.integer({ min: -2, max: HLL_REGISTERS + 1 }), fc.integer({ min: 0, max: 53 }));
  it('encodes byte for byte as HyperLogLog for any pairs, and starts empty again after release (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(pairArb, { maxLength: 200 }), { minLength: 1, maxLength: 4 }), (lists) => {
        for (const pairs of lists) {
          const delta = new SketchDelta();
          const hll = new HyperLogLog();
          for (const [i, r] of pairs) delta.add(i, r);
          hll.addPairs(pairs);
          expect(delta.isEmpty()).toBe(hll.isEmpty());
          expect(Buffer.from(delta.encode())).toEqual(Buffer.from(hll.encode()));
          // Released arrays go back to the pool zeroed: the next delta sees none of these registers.
          delta.release();
          expect(delta.isEmpty()).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("merges a journal row's packed sketch part exactly as its pairs, across the dense switch (property)", () => {
    const updateArb = fc.record({
      dimension: fc.constantFrom('site', 'page'),
      day: fc.constantFrom('2026-03-10', '2026-03-11'),
      site: fc.constantFrom('a', 'b'),
      value: fc.constantFrom('', '/x'),
      registers: fc.array(pairArb, { maxLength: 600 }),
    });
    fc.assert(
      fc.property(fc.array(fc.array(updateArb, { maxLength: 6 }), { minLength: 1, maxLength: 5 }), (batches) => {
        const byPairs = new SketchMerge();
        const byPacked = new SketchMerge();
        for (const updates of batches) {
          for (const u of updates) {
            const delta = byPairs.sketch([u.dimension, u.day, u.site, u.value]);
            for (const [i, r] of u.registers) delta.add(i, r);
          }
          byPacked.addPacked(encodeJournalSketches(updates));
        }
        const encoded = (m: SketchMerge) =>
          m.entries.map((e) => [e.key.join('|'), Buffer.from(e.hll.encode()).toString('hex')]).sort();
        expect(encoded(byPacked)).toEqual(encoded(byPairs));
      }),
      { numRuns: 150 },
    );
    // One key past the dense switch (DENSE_AT registers), fed in batches both ways.
    const byPairs = new SketchMerge();
    const byPacked = new SketchMerge();
    for (let b = 0; b < 6; b++) {
      const registers = Array.from(
        { length: 700 },
        (_, i) => [(b * 700 + i * 7) % HLL_REGISTERS, 1 + ((b + i) % 20)] as [number, number],
      );
      const updates = [{ dimension: 'site' as const, day: '2026-03-10', site: 'a', value: '', registers }];
      for (const u of updates) {
        const delta = byPairs.sketch([u.dimension, u.day, u.site, u.value]);
        for (const [i, r] of u.registers) delta.add(i, r);
      }
      byPacked.addPacked(encodeJournalSketches(updates));
    }
    expect(Buffer.from(byPacked.entries[0]!.hll.encode())).toEqual(Buffer.from(byPairs.entries[0]!.hll.encode()));
  });

  it('switches to the dense form past the sparse limit, like HyperLogLog, and merges stored blobs of both forms', () => {
    const delta = new SketchDelta();
    const hll = new HyperLogLog();
    for (let i = 0; i < HLL_REGISTERS; i += 2) {
      delta.add(i, (i % 7) + 1);
      hll.add(i, (i % 7) + 1);
    }
    expect(Buffer.from(delta.encode())).toEqual(Buffer.from(hll.encode()));
    const merged = new SketchDelta();
    merged.mergeEncoded(hll.encode());
    const small = new HyperLogLog();
    small.add(1, 40);
    merged.mergeEncoded(small.encode());
    hll.add(1, 40);
    expect(Buffer.from(merged.encode())).toEqual(Buffer.from(hll.encode()));
    delta.release();
    merged.release();
  });
});

describe('sqliteAggregator: a large batch is written in slices (short transactions, a turn of the loop between)', () => {
  it('a batch that fails after its first slice committed is retried whole and counted exactly once', async () => {
    const file = join(dir, 'sliced.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file, busyTimeoutMs: 0 });
    const big = batch(0, 600, '/big');
    const other = new Database(file);
    const pending = a.write(big);
    // Once the first slice has committed (it is encoded in one turn, stored in the next), and before the next
    // one is stored, another connection takes the write lock.
    const stored = other.prepare('SELECT coalesce(sum(n), 0) FROM event_blocks').pluck();
    for (let i = 0; i < 1000 && stored.get() === 0; i++) await new Promise<void>((r) => setImmediate(r));
    other.exec('BEGIN IMMEDIATE');
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e as PrivacyLogError,
    );
    expect(err?.code).toBe('PRIVACY_LOG_E_AGGREGATOR_FAILED');
    expect(err?.retryable).toBe(true);
    const partial = other.prepare('SELECT coalesce(sum(n), 0) FROM event_blocks').pluck().get() as number;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(600);
    other.exec('ROLLBACK');
    other.close();
    // The pipeline's retry: the whole batch again. The committed slice's ids are ignored, the rest stored.
    await a.write(big);
    await a.write(big);
    expect((await a.query(pageviews)).results).toEqual([{ value: '/big', pageviews: 600 }]);
    expect((await a.query(visitors)).results).toEqual([{ pageviews: 600, visitors: expect.any(Number) }]);
    const reference = sqliteAggregator({ retentionDays: KEEP_DAYS, file: join(dir, 'whole.db') });
    await reference.write(big);
    expect(await a.query(visitors)).toEqual(await reference.query(visitors));
    await Promise.all([a.close(), reference.close()]);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT sum(n) AS n FROM event_blocks').get()).toEqual({ n: 600 });
    expect(db.prepare('SELECT sum(events) AS n FROM rollup_slot').get()).toEqual({ n: 600 });
    expect(db.prepare("SELECT sum(events) AS n FROM rollup_day WHERE dimension = 'page'").get()).toEqual({ n: 600 });
    db.close();
  });

  it('gives the event loop a turn between slices, interleaves concurrent writes exactly, and close() waits for them', async () => {
    const file = join(dir, 'turns.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const x = batch(0, 1000, '/x');
    const first = a.write(x);
    const second = a.write(batch(1000, 700, '/y'));
    // A replay of part of the first batch, racing it: its ids are stored once.
    const replay = a.write({ events: x.events.slice(100, 400), sketches: [] });
    await Promise.all([first, second, replay]);
    ticking = false;
    // 1000 + 700 rows in slices: the ticker ran between them.
    expect(turns).toBeGreaterThanOrEqual(3);
    const third = a.write(batch(1700, 900, '/z'));
    await a.close();
    await third;
    const b = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    expect((await b.query(pageviews)).results).toEqual([
      { value: '/x', pageviews: 1000 },
      { value: '/z', pageviews: 900 },
      { value: '/y', pageviews: 700 },
    ]);
    await b.close();
  });
});

describe('sqliteAggregator: WAL checkpoints on a worker thread', () => {
  it('copies the log into the database file while the store is open, off the writer’s thread', async () => {
    const file = join(dir, 'wal.db');
    const a = sqliteAggregator({ retentionDays: KEEP_DAYS, file });
    const before = statSync(file).size;
    for (let i = 0; i < 40; i++) await a.write(batch(i * 500, 500, `/w${i % 3}`));
    // The worker checkpoints asynchronously: wait (bounded) until the database file has grown.
    const deadline = Date.now() + 10_000;
    while (statSync(file).size <= before * 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(statSync(file).size).toBeGreaterThan(before * 4);
    const probe = new Database(file, { readonly: true });
    expect(probe.prepare('SELECT sum(n) FROM event_blocks').pluck().get()).toBe(20_000);
    probe.close();
    await a.close();
  });
});
