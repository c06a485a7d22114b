/**
 * `privacy-log events`, run in-process through main() with a fake io, against
 * real SQLite files written by sqliteAggregator: what it prints parses back to
 * exactly the stored events; --from/--to/--session select exactly theirs (a
 * property test, with windows as small as one block); the store is opened
 * read-only and never migrated; bad usage exits 2 with the usage text, an
 * unreadable store exits 1 with what to do.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/aggregators/sqlite/migrations.js';
import { sqliteAggregator } from '../../src/aggregators/sqlite/sqlite-aggregator.js';
import { parseWhen, runEvents } from '../../src/cli/events.js';
import { main } from '../../src/cli/main.js';
import { PrivacyLogError } from '../../src/errors.js';
import type { PrivacyEvent } from '../../src/event.js';
import { isDay } from '../../src/stats/time-range.js';
import { makeEvent } from '../unit/access-log/fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-log-events-'));
  dirs.push(d);
  return d;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) },
    out: () => out.join(''),
    err: () => err.join(''),
    reset: () => {
      out.length = 0;
      err.length = 0;
    },
  };
}

const DAY0 = Date.UTC(2026, 10, 22); // 2026-11-22
const DAY_MS = 86_400_000;
const SESSIONS = ['s1', 'visitor "quoted" \\ one', 'сессия-7', 's10'];

/** An event at `ms`, of session `s` (with the granted consent a session needs) or of none. */
function eventAt(ms: number, s?: string, i = 0): PrivacyEvent {
  return makeEvent({
    time: new Date(ms).toISOString(),
    request: { method: 'GET', path: `/p/${i}`, ...(i % 3 === 0 ? { query: `q=${i}` } : {}) },
    ...(s === undefined
      ? {}
      : { session: { id: s }, consent: { analytics: 'granted', source: 'choice', policyVersion: '2026-01' } }),
  });
}

const lines = (text: string): PrivacyEvent[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PrivacyEvent);
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('privacy-log events', () => {
  let file: string;
  let written: PrivacyEvent[];

  beforeAll(async () => {
    file = path.join(tempDir(), 'events.db');
    // 3 days, in time order, across several writes (blocks of ≤ 250 events).
    written = Array.from({ length: 700 }, (_, i) =>
      eventAt(DAY0 + Math.floor((i * 3 * DAY_MS) / 700), i % 4 === 3 ? undefined : SESSIONS[i % 5], i),
    );
    const store = sqliteAggregator({ file });
    for (let i = 0; i < written.length; i += 300)
      await store.write({ events: written.slice(i, i + 300), sketches: [] });
    await store.close();
  });

  it('prints exactly the stored events, as JSON lines or one JSON array, without touching the file', async () => {
    const before = sha(file);
    const c = capture();
    expect(await main(['events', '--sqlite', file], {}, c.io)).toBe(0);
    expect(lines(c.out())).toEqual(written);
    expect(c.err()).toBe('');
    c.reset();
    expect(await main(['events', '--sqlite', file, '--format', 'json'], {}, c.io)).toBe(0);
    expect(JSON.parse(c.out())).toEqual(written);
    expect(sha(file)).toBe(before);
  });

  it('selects a range of days or times, and one session', async () => {
    const c = capture();
    const inRange = (from: number, to: number) =>
      written.filter((e) => Date.parse(e.time) >= from && Date.parse(e.time) < to);
    expect(await main(['events', '--sqlite', file, '--from', '2026-11-23', '--to', '2026-11-24'], {}, c.io)).toBe(0);
    expect(lines(c.out())).toEqual(inRange(DAY0 + DAY_MS, DAY0 + 2 * DAY_MS));
    expect(lines(c.out()).length).toBeGreaterThan(200);
    c.reset();
    const from = '2026-11-23T15:00+03:00'; // 12:00 UTC
    expect(await main(['events', '--sqlite', file, '--from', from], {}, c.io)).toBe(0);
    expect(lines(c.out())).toEqual(inRange(DAY0 + DAY_MS + 12 * 3_600_000, Number.POSITIVE_INFINITY));
    for (const s of SESSIONS) {
      c.reset();
      expect(await main(['events', '--sqlite', file, '--session', s, '--to', '2026-11-24'], {}, c.io)).toBe(0);
      const expected = inRange(Number.NEGATIVE_INFINITY, DAY0 + 2 * DAY_MS).filter((e) => e.session?.id === s);
      expect(expected.length).toBeGreaterThan(50);
      expect(lines(c.out())).toEqual(expected);
    }
    c.reset();
    expect(await main(['events', '--sqlite', file, '--session', 's', '--format', 'json'], {}, c.io)).toBe(0);
    expect(c.out()).toBe('[]\n'); // a prefix of s1 and s10 is no session of its own
  });

  it('finds the store in the configuration, as stats does', async () => {
    const c = capture();
    const env = { PRIVACY_LOG_COLLECTOR_AGGREGATORS: 'sqlite', PRIVACY_LOG_SQLITE_FILE: file };
    expect(await main(['events', '--from', '2026-11-24'], env, c.io)).toBe(0);
    expect(lines(c.out())).toEqual(written.filter((e) => Date.parse(e.time) >= DAY0 + 2 * DAY_MS));
  });

  it('reads a store a writer has open, and leaves it writable', async () => {
    const live = path.join(tempDir(), 'live.db');
    const store = sqliteAggregator({ file: live });
    const first = written.slice(0, 120);
    await store.write({ events: first, sketches: [] });
    const c = capture();
    expect(await main(['events', '--sqlite', live], {}, c.io)).toBe(0);
    expect(lines(c.out())).toEqual(first);
    await store.write({ events: written.slice(120, 130), sketches: [] });
    expect(await store.readEvents()).toEqual(written.slice(0, 130));
    await store.close();
  });

  it('any range, session and window size gives exactly the events in it, each once', async () => {
    // Dense runs (two events every millisecond) in narrow blocks, nested in the
    // time of wide blocks written out of order: windows are cut in crowded time and among overlapping blocks.
    const dense = Array.from({ length: 600 }, (_, i) => eventAt(DAY0 + DAY_MS + Math.floor(i / 2), SESSIONS[i % 5], i));
    const wide = fc.sample(fc.shuffledSubarray(written.slice(0, 300), { minLength: 300 }), { numRuns: 1, seed: 7 })[0]!;
    const batches = [wide.slice(0, 100), dense.slice(0, 240), wide.slice(100, 200), dense.slice(240), wide.slice(200)];
    const all = batches.flat();
    const store = path.join(tempDir(), 'mixed.db');
    const agg = sqliteAggregator({ file: store });
    for (const events of batches) await agg.write({ events, sketches: [] });
    await agg.close();
    const times = [...new Set(all.map((e) => Date.parse(e.time)))];
    const when = fc.option(
      fc.tuple(fc.constantFrom(...times), fc.integer({ min: -1, max: 1 })).map(([t, d]) => t + d),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(
        when,
        when,
        fc.option(fc.constantFrom(...SESSIONS), { nil: undefined }),
        fc.integer({ min: 1, max: 800 }),
        async (a, b, session, chunkEvents) => {
          const [from, to] = a !== undefined && b !== undefined && a > b ? [b, a] : [a, b];
          if (from !== undefined && to !== undefined && from === to) return;
          const args = ['--sqlite', store];
          if (from !== undefined) args.push('--from', new Date(from).toISOString());
          if (to !== undefined) args.push('--to', new Date(to).toISOString());
          if (session !== undefined) args.push('--session', session);
          const out: string[] = [];
          const count = await runEvents(args, {}, { stdout: (t) => out.push(t) }, { chunkEvents });
          const got = lines(out.join(''));
          const expected = all.filter(
            (e) =>
              Date.parse(e.time) >= (from ?? Number.NEGATIVE_INFINITY) &&
              Date.parse(e.time) < (to ?? Number.POSITIVE_INFINITY) &&
              (session === undefined || e.session?.id === session),
          );
          expect(count).toBe(got.length);
          const byId = (x: PrivacyEvent, y: PrivacyEvent) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
          expect([...got].sort(byId)).toEqual([...expected].sort(byId));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('says what to do with a missing file, an older schema, or a file that is not a store, and writes none', async () => {
    const dir = tempDir();
    const c = capture();
    const missing = path.join(dir, 'nope.db');
    expect(await main(['events', '--sqlite', missing], {}, c.io)).toBe(1);
    expect(c.err()).toContain(`cannot read "${missing}": no such file`);
    expect(fs.existsSync(missing)).toBe(false);

    const old = path.join(dir, 'v4.db');
    const db = new Database(old);
    migrate(db, 4);
    db.close();
    const before = sha(old);
    c.reset();
    expect(await main(['events', '--sqlite', old], {}, c.io)).toBe(1);
    expect(c.err()).toContain('schema version 4, older than this privacy-log reads (5)');
    expect(c.err()).toContain('Open it once with the current privacy-log');
    expect(sha(old)).toBe(before);
    const check = new Database(old, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(4);
    check.close();

    // Version 5 stores its raw events as this one does (later migrations changed other tables): read as it is.
    const v5 = path.join(dir, 'v5.db');
    const db5 = new Database(v5);
    migrate(db5, 5);
    db5.close();
    const v5Before = sha(v5);
    c.reset();
    expect(await main(['events', '--sqlite', v5], {}, c.io)).toBe(0);
    expect(c.err()).toBe('');
    expect(sha(v5)).toBe(v5Before);

    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not a database at all, just some text that is long enough to have a header.\n'.repeat(20));
    c.reset();
    expect(await main(['events', '--sqlite', text], {}, c.io)).toBe(1);
    expect(c.err()).toContain('not a valid SQLite database');

    const empty = path.join(dir, 'empty.db');
    new Database(empty).close();
    c.reset();
    expect(await main(['events', '--sqlite', empty], {}, c.io)).toBe(1);
    expect(c.err()).toContain('not a privacy-log store');
  });

  it('explains bad usage with exit code 2 and the usage text', async () => {
    const c = capture();
    const bad: [string[], string][] = [
      [['--sqlite', file, '--form', '2026-11-24'], "Unknown option '--form'"],
      [['--sqlite', file, '--from', '24.11.2026'], '--from "24.11.2026" is not a day YYYY-MM-DD (00:00 UTC)'],
      [['--sqlite', file, '--to', '2026-02-30'], '--to "2026-02-30" is not a day YYYY-MM-DD'],
      [['--sqlite', file, '--to', '2026-11-24T10:00:00'], 'with a zone'],
      [['--sqlite', file, '--from', '2026-11-24', '--to', '2026-11-24'], 'must be before --to'],
      [['--sqlite', file, '--format', 'csv'], '--format must be jsonl or json'],
      [['--sqlite', file, '--session', ''], '--session needs a session id'],
      [['--sqlite', file, 'extra'], 'Unexpected argument'],
      [['--from', '2026-11-24'], '--sqlite FILE'],
    ];
    for (const [args, message] of bad) {
      c.reset();
      expect(await main(['events', ...args], {}, c.io), args.join(' ')).toBe(2);
      expect(c.err()).toContain(message);
      expect(c.err()).toContain('Usage: privacy-log events');
      expect(c.out()).toBe('');
    }
    c.reset();
    expect(await main(['events', '--help'], {}, c.io)).toBe(0);
    expect(c.out()).toContain('--session ID');
    c.reset();
    expect(await main(['--help'], {}, c.io)).toBe(0);
    expect(c.out()).toContain('events [options]');
  });

  it('reads days as 00:00 UTC and times with their zone', () => {
    expect(parseWhen('--from', '2026-11-24')).toBe(Date.UTC(2026, 10, 24));
    expect(parseWhen('--to', '2026-11-24T18:00+03:00')).toBe(Date.UTC(2026, 10, 24, 15));
    expect(parseWhen('--to', '2026-11-24T18:00:01.5Z')).toBe(Date.UTC(2026, 10, 24, 18, 0, 1, 500));
    expect(() => parseWhen('--from', '2026-11-24T24:00Z')).toThrow(/YYYY-MM-DD/);
  });

  it('accepts exactly the days isDay accepts, years 0000–0099 too (not read as 1900–1999)', () => {
    expect(parseWhen('--from', '0004-02-29')).toBe(Date.parse('0004-02-29T00:00:00.000Z'));
    expect(new Date(parseWhen('--from', '0050-06-01')).toISOString()).toBe('0050-06-01T00:00:00.000Z');
    expect(new Date(parseWhen('--to', '0050-06-01T12:00+03:00')).toISOString()).toBe('0050-06-01T09:00:00.000Z');
    expect(() => parseWhen('--from', '0050-02-29')).toThrow(/YYYY-MM-DD/);
    const digits = (n: number, min = 0, max = 10 ** n - 1) =>
      fc.integer({ min, max }).map((v) => String(v).padStart(n, '0'));
    fc.assert(
      fc.property(
        fc.oneof(digits(4), digits(4, 0, 99), fc.constantFrom('0000', '0004', '0100', '1900', '2000')),
        fc.oneof(digits(2), digits(2, 1, 12)),
        fc.oneof(digits(2), digits(2, 28, 31)),
        (y, mo, d) => {
          const day = `${y}-${mo}-${d}`;
          let accepted = true;
          try {
            expect(new Date(parseWhen('--from', day)).toISOString().slice(0, 10)).toBe(day);
          } catch (e) {
            if (!(e instanceof PrivacyLogError)) throw e;
            accepted = false;
          }
          expect(accepted).toBe(isDay(day));
        },
      ),
    );
  });
});
