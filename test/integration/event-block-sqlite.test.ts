/**
 * Event blocks through a real SQLite file: stored as a row (blobs and JSON text)
 * by better-sqlite3 and read back as the driver hands them (Buffers, strings),
 * they still give back the exact events and rows, and the block accumulators
 * over the stored blocks agree with memoryBackend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blockCounts,
  blockSessions,
  decodeEvents,
  decodeQueryBlock,
  decodeRows,
  type EncodedBlock,
  encodeBlock,
  type StoredBlock,
} from '../../src/aggregators/sqlite/event-block.js';
import type { PrivacyEvent } from '../../src/event.js';
import type { RawSpec } from '../../src/stats/backend.js';
import { eventRow } from '../../src/stats/event-columns.js';
import { memoryBackend } from '../../src/stats/memory-backend.js';
import { syntheticDataset } from '../conformance/dataset.js';
import { blockEvents, canon } from '../helpers/event-arbitrary.js';

let dir: string;
let db: Database.Database;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-event-block-'));
  db = new Database(join(dir, 'blocks.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE event_blocks (seq INTEGER PRIMARY KEY, n INTEGER NOT NULL, ts_min INTEGER NOT NULL,
    ts_max INTEGER NOT NULL, cols BLOB NOT NULL, dict TEXT NOT NULL, sessions TEXT NOT NULL, ids TEXT NOT NULL,
    rest BLOB NOT NULL)`);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

type Row = StoredBlock & { seq: number; n: number; ts_min: number; ts_max: number };

function store(blocks: readonly EncodedBlock[]): void {
  const insert = db.prepare(
    'INSERT INTO event_blocks (n, ts_min, ts_max, cols, dict, sessions, ids, rest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (const b of blocks) insert.run(b.n, b.tsMin, b.tsMax, b.cols, b.dict, b.sessions, b.ids, b.rest);
  })();
}

function stored(): Row[] {
  return db.prepare('SELECT * FROM event_blocks ORDER BY seq').all() as Row[];
}

describe('event blocks in SQLite', () => {
  it('come back from the driver exactly as written', () => {
    fc.assert(
      fc.property(blockEvents, (events: PrivacyEvent[]) => {
        db.exec('DELETE FROM event_blocks');
        const b = encodeBlock(events.map(eventRow), events);
        store([b]);
        const [row] = stored();
        expect(row).toBeDefined();
        const r = row as Row;
        expect(Buffer.isBuffer(r.cols)).toBe(true);
        expect([r.n, r.ts_min, r.ts_max]).toEqual([b.n, b.tsMin, b.tsMax]);
        expect(r.dict).toBe(b.dict);
        expect(decodeRows(r)).toStrictEqual(events.map(eventRow));
        expect(decodeEvents(r).map(canon)).toEqual(events.map(canon));
      }),
      { numRuns: 60 },
    );
  });

  it('answer counts and sessions over the stored blocks as memoryBackend does over the events', async () => {
    const end = Date.parse('2026-03-11T00:00:00.000Z');
    const { events } = syntheticDataset(5000, 2, end, 3);
    const blocks: EncodedBlock[] = [];
    for (let i = 0; i < events.length; i += 250) {
      const slice = events.slice(i, i + 250);
      blocks.push(encodeBlock(slice.map(eventRow), slice));
    }
    store(blocks);
    const rows = events.map(eventRow);
    const memory = memoryBackend(() => rows, new Map());
    const sort = <T extends { key: string }>(list: T[]) => list.sort((a, b) => (a.key < b.key ? -1 : 1));
    const specs: RawSpec[] = [
      { from: end - 86_400_000, to: end - 3_600_000, filters: [], includeBots: false, group: { by: 'slot' } },
      {
        from: end - 2 * 86_400_000,
        to: end,
        site: 'oblachko',
        filters: [{ property: 'browser', op: '==', value: 'Chrome' }],
        includeBots: false,
        group: { by: 'property', property: 'page' },
      },
      {
        from: end - 2 * 86_400_000,
        to: end,
        filters: [{ property: 'referrer', op: '!=', value: 'vk.com' }],
        includeBots: true,
        group: { by: 'property', property: 'referrer' },
      },
    ];
    // The rows a query reads: the blocks overlapping its range.
    const overlapping = db.prepare('SELECT cols, dict, sessions FROM event_blocks WHERE ts_max >= ? AND ts_min < ?');
    for (const spec of specs) {
      const counts = blockCounts(spec);
      const sessions = blockSessions(spec);
      for (const r of overlapping.all(spec.from, spec.to) as Row[]) {
        counts.add(decodeQueryBlock(r.cols, r.dict));
        sessions.add(decodeQueryBlock(r.cols, r.dict, r.sessions));
      }
      const want = await memory.rawCounts(spec);
      expect(want.length).toBeGreaterThan(0);
      expect(sort(counts.result())).toEqual(sort(want));
      expect(sort(sessions.result())).toEqual(sort(await memory.sessions(spec)));
    }
  });
});
