/**
 * Event-block micro-benchmark (src/aggregators/sqlite/event-block.ts): the
 * synthetic dataset of bench/ingest.ts cut into 250-event write slices, then
 *   - encodeBlock, µs/event, with rows from eventRow (which the store makes for
 *     its rollups anyway) made per slice just before (events warm in cache, as
 *     in the store: the figure the bar is checked on), and made for all events
 *     beforehand (events cold in cache: every field read is a cache miss);
 *   - bytes/event stored: cols + dict + sessions + ids + rest (text as UTF-8);
 *   - decodeQueryBlock + blockCounts grouped by page with a browser filter,
 *     µs/event (the answer is checked against memoryBackend once);
 *   - decodeQueryBlock (with sessions) + blockSessions, µs/event;
 *   - decodeEvents, µs/event.
 * Each figure is timed over every block, ROUNDS times after WARMUP rounds;
 * the median and range of wall time and the median process CPU time are
 * printed. Also, for context, eventRow + encodeBlock per slice: what the
 * store pays per write slice (eventRow it needs for its rollups anyway).
 *
 *   npx tsx bench/event-block.ts [events=200000] [rounds=11]
 */
import {
  blockCounts,
  blockSessions,
  decodeEvents,
  decodeQueryBlock,
  type EncodedBlock,
  encodeBlock,
} from '../src/aggregators/sqlite/event-block.js';
import type { PrivacyEvent } from '../src/event.js';
import type { CountRow, RawSpec } from '../src/stats/backend.js';
import { type EventRow, eventRow } from '../src/stats/event-columns.js';
import { memoryBackend } from '../src/stats/memory-backend.js';
import { syntheticDataset } from '../test/conformance/dataset.js';
import { median, round } from './lib/stats.js';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 11);
const WARMUP = 3;
const SLICE = 250;
const END = Date.parse('2026-03-11T00:00:00.000Z');
const TARGETS = { encodeUsPerEvent: 1.0, bytesPerEvent: 110, queryUsPerEvent: 0.05 };

const { events } = syntheticDataset(N, 2, END, 7);
const rows: EventRow[] = events.map(eventRow);
const slices: [number, number][] = [];
for (let i = 0; i < N; i += SLICE) slices.push([i, Math.min(N, i + SLICE)]);
const eventSlices = slices.map(([a, b]) => events.slice(a, b));
const rowSlices = slices.map(([a, b]) => rows.slice(a, b));

interface Timing {
  /** Wall time, µs/event: median and range over the rounds. */
  median: number;
  min: number;
  max: number;
  /** Process CPU time (user + system), µs/event, median: steadier when neighbours load the machine. */
  cpu: number;
}

/** µs per event of `run` over all blocks: WARMUP untimed rounds (JIT), then ROUNDS timed ones. */
function time(run: () => void): Timing {
  for (let r = 0; r < WARMUP; r++) run();
  const us: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    us.push(((performance.now() - t0) * 1000) / N);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / N);
  }
  return { median: median(us), min: Math.min(...us), max: Math.max(...us), cpu: median(cpu) };
}

/** Like time(), timing only the function `prepare` returns for each slice. */
function timeEach(prepare: (events: PrivacyEvent[]) => () => void): Timing {
  const run = (): [number, number] => {
    let ms = 0;
    let cpu = 0;
    for (const e of eventSlices) {
      const f = prepare(e);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      f();
      ms += performance.now() - t0;
      const c = process.cpuUsage(c0);
      cpu += c.user + c.system;
    }
    return [(ms * 1000) / N, cpu / N];
  };
  for (let r = 0; r < WARMUP; r++) run();
  const us: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [u, c] = run();
    us.push(u);
    cpu.push(c);
  }
  return { median: median(us), min: Math.min(...us), max: Math.max(...us), cpu: median(cpu) };
}

let blocks: EncodedBlock[] = [];
const cold = time(() => {
  blocks = eventSlices.map((e, i) => encodeBlock(rowSlices[i] as EventRow[], e));
});

// As the store calls it: the slice's rows made just before (untimed), so the events are warm in cache.
const warm = timeEach((e) => {
  const r = e.map(eventRow);
  return () => encodeBlock(r, e);
});
const withRows = time(() => {
  for (const e of eventSlices) encodeBlock(e.map(eventRow), e);
});
const rowsOnly = time(() => {
  for (const e of eventSlices) e.map(eventRow);
});

let cols = 0;
let dict = 0;
let sessions = 0;
let ids = 0;
let rest = 0;
for (const b of blocks) {
  cols += b.cols.length;
  dict += Buffer.byteLength(b.dict);
  sessions += Buffer.byteLength(b.sessions);
  ids += Buffer.byteLength(b.ids);
  rest += b.rest.length;
}
const bytesPerEvent = (cols + dict + sessions + ids + rest) / N;

// As better-sqlite3 hands them back: a Buffer per value, the JSON columns as strings.
const stored = blocks.map((b) => ({ ...b, cols: Buffer.from(b.cols), rest: Buffer.from(b.rest) }));
const spec: RawSpec = {
  from: END - 2 * 86_400_000,
  to: END,
  filters: [{ property: 'browser', op: '==', value: 'Chrome' }],
  includeBots: false,
  group: { by: 'property', property: 'page' },
};
let counted: CountRow[] = [];
const query = time(() => {
  const acc = blockCounts(spec);
  for (const b of stored) acc.add(decodeQueryBlock(b.cols, b.dict));
  counted = acc.result();
});
const sessionSpec: RawSpec = { ...spec, filters: [], group: { by: 'none' } };
const sessionQuery = time(() => {
  const acc = blockSessions(sessionSpec);
  for (const b of stored) acc.add(decodeQueryBlock(b.cols, b.dict, b.sessions));
  acc.result();
});
const decode = time(() => {
  for (const b of stored) decodeEvents(b);
});

// The figures are only worth something if the answer is right.
const key = (r: CountRow) => r.key;
const expected = await memoryBackend(() => rows, new Map()).rawCounts(spec);
const same =
  JSON.stringify([...counted].sort((a, b) => key(a).localeCompare(key(b)))) ===
  JSON.stringify([...expected].sort((a, b) => key(a).localeCompare(key(b))));
if (!same) throw new Error('blockCounts disagrees with memoryBackend.rawCounts');

const f = (t: Timing) =>
  `${t.median.toFixed(3)} µs/event (range ${t.min.toFixed(3)}–${t.max.toFixed(3)}; CPU ${t.cpu.toFixed(3)})`;
console.log(
  `event-block: ${N} events in ${blocks.length} blocks of ${SLICE}, ${ROUNDS} rounds (wall median, range; CPU median)`,
);
console.log(`encodeBlock (all rows made beforehand: cold):  ${f(cold)}`);
console.log(`encodeBlock (slice's rows made just before):   ${f(warm)}`);
console.log(`eventRow alone / eventRow + encodeBlock:      ${f(rowsOnly)} / ${f(withRows)}`);
console.log(
  `stored size: ${bytesPerEvent.toFixed(1)} bytes/event (cols ${(cols / N).toFixed(1)}, dict ${(dict / N).toFixed(1)}, ` +
    `sessions ${(sessions / N).toFixed(1)}, ids ${(ids / N).toFixed(1)}, rest ${(rest / N).toFixed(1)})`,
);
console.log(`decodeQueryBlock + blockCounts (page, browser==Chrome): ${f(query)}`);
console.log(`decodeQueryBlock + blockSessions (no grouping):         ${f(sessionQuery)}`);
console.log(`decodeEvents:                                 ${f(decode)}`);
const met =
  warm.median <= TARGETS.encodeUsPerEvent &&
  bytesPerEvent <= TARGETS.bytesPerEvent &&
  query.median <= TARGETS.queryUsPerEvent;
console.log(
  JSON.stringify({
    bench: 'event-block',
    events: N,
    blockEvents: SLICE,
    rounds: ROUNDS,
    encodeUsPerEvent: round(warm.median, 3),
    encodeUsPerEventRange: [round(warm.min, 3), round(warm.max, 3)],
    encodeColdUsPerEvent: round(cold.median, 3),
    encodeColdUsPerEventRange: [round(cold.min, 3), round(cold.max, 3)],
    encodeColdCpuUsPerEvent: round(cold.cpu, 3),
    eventRowPlusEncodeUsPerEvent: round(withRows.median, 3),
    eventRowUsPerEvent: round(rowsOnly.median, 3),
    storedBytesPerEvent: round(bytesPerEvent, 1),
    bytesPerEventByPart: {
      cols: round(cols / N, 1),
      dict: round(dict / N, 1),
      sessions: round(sessions / N, 1),
      ids: round(ids / N, 1),
      rest: round(rest / N, 1),
    },
    queryUsPerEvent: round(query.median, 4),
    queryUsPerEventRange: [round(query.min, 4), round(query.max, 4)],
    queryCpuUsPerEvent: round(query.cpu, 4),
    sessionsQueryUsPerEvent: round(sessionQuery.median, 4),
    decodeEventsUsPerEvent: round(decode.median, 3),
    bar: { ...TARGETS, met },
  }),
);
