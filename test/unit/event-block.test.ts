import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blockCounts,
  blockSessions,
  decodeEvents,
  decodeQueryBlock,
  decodeRows,
  type EncodedBlock,
  encodeBlock,
} from '../../src/aggregators/sqlite/event-block.js';
import type { PrivacyEvent } from '../../src/event.js';
import type { CountRow, Grouping, RawSpec, SessionRow } from '../../src/stats/backend.js';
import { type EventRow, eventRow } from '../../src/stats/event-columns.js';
import { memoryBackend } from '../../src/stats/memory-backend.js';
import { type Filter, PROPERTIES, type Property } from '../../src/stats/query.js';
import { BASE_DAY, datasetArbitrary, makeEvent } from '../conformance/dataset.js';
import { blockEvents, canon } from '../helpers/event-arbitrary.js';
import { sampleEvent } from '../helpers/sample-event.js';

// ---------------------------------------------------------------- helpers

function encode(events: readonly PrivacyEvent[]): EncodedBlock {
  return encodeBlock(events.map(eventRow), events);
}

/** `bytes` at an odd byteOffset, as a Buffer from a driver may be. */
function unaligned(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(bytes.length + 1);
  b.set(bytes, 1);
  return b.subarray(1);
}

/** `bytes` as a plain Uint8Array (no Buffer) at an offset of 3 in its ArrayBuffer. */
function plainAt3(bytes: Uint8Array): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(bytes.length + 3), 3, bytes.length);
  b.set(bytes);
  return b;
}

const byKey = <T extends { key: string }>(rows: readonly T[]) =>
  [...rows].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

// ---------------------------------------------------------------- round trip

describe('event blocks: round trip', () => {
  it('gives back exactly the events and their rows, whatever the fields hold', () => {
    fc.assert(
      fc.property(blockEvents, (events) => {
        const rows = events.map(eventRow);
        const b = encodeBlock(rows, events);
        expect(b.n).toBe(events.length);
        expect(b.tsMin).toBe(Math.min(...rows.map((r) => r.ts)));
        expect(b.tsMax).toBe(Math.max(...rows.map((r) => r.ts)));
        expect(JSON.parse(b.ids)).toEqual(events.map((e) => e.id));
        // Through an unaligned Buffer, as better-sqlite3 may hand the blob back.
        const stored =
          events.length % 2 === 0
            ? { ...b, cols: unaligned(b.cols), rest: unaligned(b.rest) }
            : { ...b, cols: plainAt3(b.cols), rest: plainAt3(b.rest) };
        expect(decodeRows(stored)).toStrictEqual(rows);
        const back = decodeEvents(stored);
        expect(back.map(canon)).toEqual(events.map(canon));
        // No key the original lacks, not even one holding undefined; -0 stays -0. (The clone
        // gives fast-check's null-prototype records a plain prototype, as decoded events have.)
        expect(back).toStrictEqual(structuredClone(events));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a full event exactly, and its JSON too', () => {
    const e = sampleEvent();
    const internal = sampleEvent({
      kind: 'pageview',
      referrer: { host: 'oblachko.example', path: '/prev', type: 'internal' },
    });
    delete internal.download;
    const back = decodeEvents(encode([e, internal]));
    expect(JSON.stringify(back)).toBe(JSON.stringify([e, internal]));
  });

  it('stores time only when the ISO string of ts would differ', () => {
    const plain = makeEvent({ time: '2026-03-10T10:00:00.000Z' });
    const odd = makeEvent({ time: '2026-03-10T10:00:00Z' });
    const a = encode([plain]);
    const b = encode([odd]);
    expect(Buffer.from(b.rest).includes('2026-03-10T10:00:00Z')).toBe(true);
    expect(Buffer.from(a.rest).includes('2026-03-10')).toBe(false);
    expect(decodeEvents(b)[0]?.time).toBe('2026-03-10T10:00:00Z');
  });

  it('switches to 32-bit codes past 65 534 dictionary entries and still round-trips', () => {
    const t0 = Date.parse('2026-03-10T00:00:00.000Z');
    const events: PrivacyEvent[] = [];
    for (let i = 0; i < 70_000; i++)
      events.push(makeEvent({ time: new Date(t0 + i).toISOString(), path: `/p/${i}`, session: `s${i % 7}` }));
    const rows = events.map(eventRow);
    const b = encodeBlock(rows, events);
    expect((b.cols[1] as number) & 1).toBe(1);
    expect(decodeRows(b)).toStrictEqual(rows);
    expect(decodeEvents(b).map(canon)).toEqual(events.map(canon));
    const q = decodeQueryBlock(b.cols, b.dict, b.sessions);
    expect(q.code('page')).toBeInstanceOf(Uint32Array);
    expect(q.dict[(q.code('page')[69_999] as number) - 1]).toBe('/p/69999');

    // Distinct sessions alone are enough too.
    const few = events
      .slice(0, 66_000)
      .map((e, i) => ({ ...e, request: { ...e.request, path: '/' }, session: { id: `x${i}` } }));
    const w = encode(few);
    expect((w.cols[1] as number) & 1).toBe(1);
    expect(decodeRows(w)).toStrictEqual(few.map(eventRow));

    const small = encode(events.slice(0, 100));
    expect((small.cols[1] as number) & 1).toBe(0);
    expect(decodeQueryBlock(small.cols, small.dict).code('page')).toBeInstanceOf(Uint16Array);
  });

  it('encodes a typical write slice compactly', () => {
    const events = Array.from({ length: 250 }, (_, i) =>
      makeEvent({
        time: new Date(Date.parse('2026-03-10T10:00:00.000Z') + i * 900).toISOString(),
        path: `/page/${i % 40}`,
        browser: 'Chrome',
        os: 'Android',
        isp: 'Rostelecom',
        session: i % 5 === 0 ? `s${i % 30}` : undefined,
      }),
    );
    const b = encode(events);
    const bytes = b.cols.length + b.dict.length + b.sessions.length + b.ids.length + b.rest.length;
    expect(bytes / 250).toBeLessThan(110);
    expect((b.cols[1] as number) & 2).toBe(0); // 32-bit ts offsets
  });

  it('refuses mismatched or empty input', () => {
    const e = makeEvent({ time: '2026-03-10T10:00:00.000Z' });
    expect(() => encodeBlock([], [])).toThrow(/at least one/);
    expect(() => encodeBlock([eventRow(e)], [e, e])).toThrow(/as many rows as events/);
    const bad = { ...e, time: 'yesterday' };
    expect(() => encodeBlock([eventRow(bad)], [bad])).toThrow(/no valid time/);
  });
});

// ---------------------------------------------------------------- corrupt input

describe('event blocks: corrupt input', () => {
  const events = [
    sampleEvent(),
    makeEvent({ time: '2026-03-10T10:00:00.000Z', path: '/a', session: 's1' }),
    makeEvent({ time: '2026-03-10T10:00:01.000Z', file: 'menu.pdf' }),
  ];
  const b = encode(events);

  it('rejects an unknown version byte with a clear error', () => {
    const cols = Buffer.from(b.cols);
    cols[0] = 2;
    expect(() => decodeQueryBlock(cols, b.dict)).toThrow(/unknown format version 2 \(this build reads version 1\)/);
    const rest = Buffer.from(b.rest);
    rest[0] = 9;
    expect(() => decodeEvents({ ...b, rest })).toThrow(/unknown rest format version 9/);
  });

  it('throws on every truncation or extension of cols, never returns garbage', () => {
    for (let len = 0; len < b.cols.length; len++)
      expect(() => decodeQueryBlock(b.cols.subarray(0, len), b.dict)).toThrow(/corrupt or truncated/);
    expect(() => decodeQueryBlock(Buffer.concat([b.cols, Buffer.from([0])]), b.dict)).toThrow(/corrupt or truncated/);
    const flags = Buffer.from(b.cols);
    flags[1] = 0x80;
    expect(() => decodeQueryBlock(flags, b.dict)).toThrow(/unknown flags/);
  });

  it('throws on every truncation of rest', () => {
    for (let len = 0; len < b.rest.length; len++)
      expect(() => decodeEvents({ ...b, rest: b.rest.subarray(0, len) })).toThrow(/event block/);
    expect(() => decodeEvents({ ...b, rest: Buffer.concat([b.rest, Buffer.from([0])]) })).toThrow(/left after/);
  });

  it('throws when codes point past the dictionaries or ids are missing', () => {
    expect(() => decodeQueryBlock(b.cols, '[]')).toThrow(/site codes up to 1 with 0 dictionary entries/);
    expect(() => decodeQueryBlock(b.cols, b.dict, '[]')).toThrow(/session codes up to 2 with 0 dictionary entries/);
    expect(() => decodeRows({ ...b, dict: '["oblachko"]' })).toThrow(/corrupt or truncated/);
    // A code corrupted in place, past the dictionary: queries ignore it, decodeRows refuses it.
    const cols = Buffer.from(b.cols);
    // Header 72 bytes, 3 ts (f64 here: the events are months apart), 3 site codes (u16): the first page code.
    expect((cols[1] as number) & 2).toBe(2);
    cols.writeUInt16LE(999, 72 + 3 * 8 + 3 * 2);
    expect(decodeQueryBlock(cols, b.dict).code('page')[0]).toBe(999);
    expect(() => decodeRows({ ...b, cols })).toThrow(/code 999 with \d+ dictionary entries/);
    expect(() => decodeRows({ ...b, ids: '[]' })).toThrow(/ids holds 0 ids for 3 events/);
    expect(() => decodeQueryBlock(b.cols, '{"a":1}')).toThrow(/dict is not a JSON array/);
    expect(() => decodeQueryBlock(b.cols, '[1]')).toThrow(/non-string/);
    expect(() => decodeQueryBlock(b.cols, '[')).toThrow(/dict is not JSON/);
  });

  it('throws on a bot value other than 0 or 1', () => {
    const cols = Buffer.from(b.cols);
    cols[cols.length - 1] = 7;
    expect(() => decodeQueryBlock(cols, b.dict).bot).toThrow(/bot value other than 0 or 1/);
    const spec: RawSpec = {
      from: 0,
      to: Date.parse('2100-01-01'),
      filters: [],
      includeBots: false,
      group: { by: 'none' },
    };
    expect(() => blockCounts(spec).add(decodeQueryBlock(cols, b.dict))).toThrow(/bot value/);
  });

  it('throws when the times disagree with the header', () => {
    const cols = Buffer.from(b.cols);
    cols.writeDoubleLE(b.tsMax + 1, 16);
    expect(decodeQueryBlock(cols, b.dict).tsMax).toBe(b.tsMax + 1);
    expect(() => decodeQueryBlock(cols, b.dict).ts).toThrow(/times .* where the header says/);
    cols.writeDoubleLE(b.tsMin - 1, 16);
    expect(() => decodeQueryBlock(cols, b.dict)).toThrow(/time range/);
  });

  it('blockSessions refuses blocks decoded without their sessions', () => {
    const spec: RawSpec = {
      from: 0,
      to: Date.parse('2100-01-01'),
      filters: [],
      includeBots: true,
      group: { by: 'none' },
    };
    const acc = blockSessions(spec);
    expect(() => acc.add(decodeQueryBlock(b.cols, b.dict))).toThrow(/decoded with their sessions/);
  });
});

// ---------------------------------------------------------------- queries

/** Per property, values datasetArbitrary gives it, so filters select something most of the time. */
const VALUES: Record<Property, readonly string[]> = {
  page: ['/', '/news', '/menu', '/группы', '/files'],
  referrer: ['yandex.ru', 'google.com', 'vk.com'],
  browser: ['Chrome', 'Firefox', 'Googlebot'],
  os: ['Windows', 'Android', 'iOS'],
  device: ['desktop', 'bot'],
  isp: ['Rostelecom', 'MTS'],
  domain: ['rt.ru'],
  download: ['menu.pdf'],
  kind: ['pageview', 'download', 'api'],
};
const filterArb: fc.Arbitrary<Filter> = fc.constantFrom(...PROPERTIES).chain((property) =>
  fc.record({
    property: fc.constant(property),
    op: fc.constantFrom('==', '!='),
    // Sometimes a value no event has, or one of another property.
    value: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...VALUES[property]) },
      { weight: 1, arbitrary: fc.constantFrom('nope', '', 'Chrome', '/news') },
    ),
  }),
);
const groupArb: fc.Arbitrary<Grouping> = fc.oneof(
  fc.constant({ by: 'none' } as const),
  fc.constant({ by: 'slot' } as const),
  fc.constantFrom(...PROPERTIES).map((property) => ({ by: 'property', property }) as const),
);
const DAY = 86_400_000;
const BASE = Date.parse(`${BASE_DAY}T00:00:00.000Z`);
const specArb: fc.Arbitrary<RawSpec> = fc
  .record({
    from: fc.oneof(
      fc.constant(BASE - 20 * DAY),
      fc.integer({ min: -9 * 1440, max: 1440 }).map((m) => BASE + m * 60_000),
    ),
    span: fc.oneof(
      fc.constant(40 * DAY),
      fc.integer({ min: 0, max: 12 * 1440 }).map((m) => m * 60_000),
    ),
    site: fc.constantFrom(undefined, undefined, 'oblachko', 'other.example', 'nope'),
    filters: fc.array(filterArb, { maxLength: 2 }),
    includeBots: fc.boolean(),
    group: groupArb,
  })
  .map(({ from, span, ...rest }) => ({ from, to: from + span, ...rest }));

/** The events cut into consecutive blocks of the given sizes, encoded, then put in the given order. */
function blocksOf(events: readonly PrivacyEvent[], sizes: readonly number[], order: readonly number[]): EncodedBlock[] {
  const out: EncodedBlock[] = [];
  for (let i = 0, j = 0; i < events.length; j++) {
    const n = sizes[j % sizes.length] as number;
    out.push(encode(events.slice(i, i + n)));
    i += n;
  }
  const keyed = out.map((b, i) => ({ b, k: order[i % order.length] as number }));
  return keyed.sort((x, y) => x.k - y.k).map((x) => x.b);
}

describe('event blocks: blockCounts and blockSessions', () => {
  it('agree with memoryBackend rawCounts and sessions for any spec and any cut into blocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        datasetArbitrary(200),
        fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        fc.array(specArb, { minLength: 1, maxLength: 4 }),
        async (d, sizes, order, specs) => {
          const rows: EventRow[] = d.events.map(eventRow);
          const memory = memoryBackend(() => rows, new Map());
          const blocks = blocksOf(d.events, sizes, order).map((b) => ({ ...b, cols: unaligned(b.cols) }));
          for (const spec of specs) {
            const counts = blockCounts(spec);
            const sessions = blockSessions(spec);
            for (const b of blocks) {
              counts.add(decodeQueryBlock(b.cols, b.dict));
              sessions.add(decodeQueryBlock(b.cols, b.dict, b.sessions));
            }
            const wantCounts: CountRow[] = await memory.rawCounts(spec);
            const wantSessions: SessionRow[] = await memory.sessions(spec);
            expect(byKey(counts.result())).toEqual(byKey(wantCounts));
            expect(byKey(sessions.result())).toEqual(byKey(wantSessions));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('merges a session spread over several blocks into one', () => {
    const t = (m: number) => new Date(Date.parse('2026-03-10T10:00:00.000Z') + m * 60_000).toISOString();
    const a = [
      makeEvent({ time: t(0), path: '/a', session: 's' }),
      makeEvent({ time: t(1), path: '/b', session: 's' }),
    ];
    const b = [makeEvent({ time: t(30), path: '/c', session: 's' })];
    const spec: RawSpec = {
      from: 0,
      to: Date.parse('2100-01-01'),
      filters: [],
      includeBots: false,
      group: { by: 'slot' },
    };
    const acc = blockSessions(spec);
    for (const blk of [encode(b), encode(a)]) acc.add(decodeQueryBlock(blk.cols, blk.dict, blk.sessions));
    const slot = String(Math.floor(Date.parse(t(0)) / (15 * 60_000)));
    expect(acc.result()).toEqual([{ key: slot, sessions: 1, bounces: 0, durationMs: 30 * 60_000 }]);
  });

  it('finds a session in a block by its id (what forget looks for)', () => {
    const t = (m: number) => new Date(Date.parse('2026-03-10T10:00:00.000Z') + m * 60_000).toISOString();
    const events = [
      makeEvent({ time: t(0), session: 'a' }),
      makeEvent({ time: t(1) }),
      makeEvent({ time: t(2), session: 'b' }),
      makeEvent({ time: t(3), session: 'a' }),
    ];
    const blk = encode(events);
    const q = decodeQueryBlock(blk.cols, blk.dict, blk.sessions);
    const a = q.sessionCodeOf('a');
    expect([...q.session].map((c, i) => (c === a ? i : -1)).filter((i) => i >= 0)).toEqual([0, 3]);
    expect(q.sessionCodeOf('zz')).toBe(-1);
    expect(q.sessionEntry(q.sessionCodeOf('b'))).toBe('b');
    expect(q.sessions).toEqual(['a', 'b']);
    expect(() => decodeQueryBlock(blk.cols, blk.dict).sessionCodeOf('a')).toThrow(/decoded without them/);
  });

  it('skips a block whose dictionary cannot satisfy the site or a filter, and counts nothing twice', () => {
    const events = [
      makeEvent({ time: '2026-03-10T10:00:00.000Z', path: '/a', browser: 'Chrome' }),
      makeEvent({ time: '2026-03-10T10:00:01.000Z', file: 'menu.pdf', browser: 'Firefox' }),
    ];
    const blk = encode(events);
    const base: RawSpec = {
      from: 0,
      to: Date.parse('2100-01-01'),
      filters: [],
      includeBots: false,
      group: { by: 'none' },
    };
    const run = (spec: RawSpec) => {
      const acc = blockCounts(spec);
      acc.add(decodeQueryBlock(blk.cols, blk.dict));
      return acc.result();
    };
    expect(run(base)).toEqual([{ key: '', events: 2, pageviews: 1, downloads: 1 }]);
    expect(run({ ...base, site: 'elsewhere' })).toEqual([]);
    expect(run({ ...base, filters: [{ property: 'browser', op: '==', value: 'Safari' }] })).toEqual([]);
    expect(run({ ...base, filters: [{ property: 'browser', op: '!=', value: 'Chrome' }] })).toEqual([
      { key: '', events: 1, pageviews: 0, downloads: 1 },
    ]);
  });
});
