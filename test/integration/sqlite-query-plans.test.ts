/**
 * The SQLite store's statements over raw events reach their rows through an
 * index: a full scan of event_ids (one row per stored event) or event_blocks
 * costs time in proportion to the whole store, inside a transaction that
 * holds the event loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { makeEvent } from '../conformance/dataset.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'privacy-log-sqlite-plans-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** Every SQL text the store prepares while `use` runs. */
async function preparedBy(use: () => Promise<void>): Promise<string[]> {
  const seen = new Set<string>();
  const prepare = Database.prototype.prepare;
  vi.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, sql: string) {
    seen.add(sql);
    return prepare.call(this, sql);
  } as typeof prepare);
  await use();
  vi.restoreAllMocks();
  return [...seen];
}

/** SQLite's plan for a statement: one line per step ('SCAN t', 'SEARCH t USING ...'). */
function planOf(db: Database.Database, sql: string): string[] {
  const params = Array((sql.match(/\?/g) ?? []).length).fill('[]');
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return rows.map((r) => r.detail);
}

/** The statements over raw events among `sql` that SQLite runs as a full scan of event_ids or event_blocks. */
function fullScans(file: string, sql: readonly string[]): Array<{ sql: string; plan: string[] }> {
  const rawEvents = sql.filter((s) => /\bevent_(ids|blocks)\b/.test(s));
  expect(rawEvents.length).toBeGreaterThan(0);
  const db = new Database(file, { readonly: true });
  try {
    return rawEvents
      .map((s) => ({ sql: s.replace(/\s+/g, ' ').trim(), plan: planOf(db, s) }))
      .filter((p) => p.plan.some((step) => /^SCAN event_(ids|blocks)\b/.test(step)));
  } finally {
    db.close();
  }
}

const events = [
  makeEvent({ time: '2026-03-10T10:00:00.000Z', session: 's1' }),
  makeEvent({ time: '2026-03-10T11:00:00.000Z', path: '/a' }),
];

describe('sqliteAggregator: query plans over raw events', () => {
  it('no statement of write, fold, query, forget or retention scans event_ids or event_blocks whole', async () => {
    const file = join(dir, 'plans.db');
    const sql = await preparedBy(async () => {
      const a = sqliteAggregator({ file, retentionDays: 1, retentionIntervalMs: 3_600_000 });
      try {
        await a.write({ events, sketches: [] });
        await a.write({ events, sketches: [] });
        await a.query({ type: 'aggregate', period: 'day', date: '2026-03-10', metrics: ['pageviews', 'sessions'] });
        await a.forget('s1');
        await a.runRetention(Date.parse('2026-03-11T10:30:00.000Z'));
        await a.runRetention(Date.parse('2026-03-13T00:00:00.000Z'));
      } finally {
        await a.close();
      }
    });
    expect(fullScans(file, sql)).toEqual([]);
  });

  it('readEvents of a time range reads the blocks of that range only', async () => {
    const file = join(dir, 'read.db');
    const a = sqliteAggregator({ file, retentionIntervalMs: 3_600_000 });
    await a.write({ events, sketches: [] });
    const sql = await preparedBy(async () => {
      expect(await a.readEvents({ from: Date.parse('2026-03-10T10:30:00.000Z') })).toEqual([events[1]]);
    });
    await a.close();
    expect(fullScans(file, sql)).toEqual([]);
  });
});
