/**
 * Event blocks: the raw events of one write slice (≤ 250 events) stored as one
 * row of table event_blocks, columns encoded compactly, instead of one row per
 * event. Queries read only `cols` and `dict` (and `sessions` for the session
 * metrics); `ids` and `rest` are read to rebuild events (export, forget).
 *
 * `cols` layout, little-endian (version 1):
 *
 *   offset 0   u8   version (1)
 *   offset 1   u8   flags: bit 0 WIDE (codes are u32, else u16),
 *                          bit 1 TS_F64 (ts is n × f64 epoch ms, else n × u32 ms after tsMin)
 *   offset 2   u16  0 (reserved)
 *   offset 4   u32  n, the number of events
 *   offset 8   f64  tsMin (epoch ms)
 *   offset 16  f64  tsMax (epoch ms)
 *   offset 24  11 × u32  the largest code in each code column below (so a
 *                        dictionary too short for the codes is refused at once)
 *   offset 68  u32  0 (reserved)
 *   offset 72  ts   n × u32 (ts − tsMin), or n × f64 when TS_F64
 *   then       11 code columns of n codes each (u16, or u32 when WIDE), in the order
 *              site, page, referrer, browser, os, device, isp, domain, download, kind
 *              (codes into `dict`), then session (codes into `sessions`);
 *              code 0 = absent, k = entry k − 1
 *   then       bot  n × u8 (0 or 1)
 *
 * Every section starts aligned to its element size. The length must be exactly
 * 72 + n × (4 or 8) + 11 × n × (2 or 4) + n. Codes are u16 when both
 * dictionaries have fewer than 65 535 entries. `dict`, `sessions` and `ids` are
 * JSON arrays of strings (dictionary entries in order of first use); `rest` is
 * described in event-block-rest.ts.
 *
 * Decoding checks the version, the flags, the exact length, the time range and
 * each column's largest code against its dictionary, then reads lazily: ts is
 * made (and checked against the header's range) and bot checked (0 or 1) when
 * first read; dictionary strings are made when asked for (string-table.ts).
 * The codes themselves are not scanned: a code corrupted in place past its
 * dictionary is refused wherever its string is needed (decodeRows, group
 * keys) and otherwise matches nothing.
 */
import type { PrivacyEvent } from '../../event.js';
import type { COLUMN_PROPERTIES, EventRow } from '../../stats/event-columns.js';
import {
  BLOCK_COLUMNS,
  blockLength,
  CODE_COLUMNS,
  EVENT_BLOCK_VERSION,
  HEADER,
  LITTLE_ENDIAN,
  MAX_CODES,
  NARROW_LIMIT,
  SESSION_COLUMN,
  swapSections,
  TS_F64,
  WIDE,
} from './event-block-layout.js';
import { encodeRest } from './event-block-rest.js';

export { decodeEvents, decodeQueryBlock, decodeRows } from './event-block-decode.js';
export { blockCounts } from './event-block-query.js';
export { blockSessions } from './event-block-sessions.js';

/** One block as stored in a row of table event_blocks (columns in this order; queries read only the first ones). */
export interface EncodedBlock {
  /** Events in the block. */
  n: number;
  /** Min and max EventRow.ts (epoch ms). */
  tsMin: number;
  tsMax: number;
  /** Binary: per-event typed columns (ts, bot, codes of the query columns, session code). */
  cols: Uint8Array;
  /** JSON array of the distinct strings the query columns refer to. */
  dict: string;
  /** JSON array of the distinct session ids. */
  sessions: string;
  /** JSON array of the n event ids, in order. */
  ids: string;
  /** Everything else needed to rebuild each PrivacyEvent exactly (event-block-rest.ts). */
  rest: Uint8Array;
}
export type StoredBlock = Pick<EncodedBlock, 'cols' | 'dict' | 'sessions' | 'ids' | 'rest'>;

/** What queries, session sums and forget read. Codes: 0 = absent, k = dict[k-1] (sessions[k-1] for session). */
export interface QueryBlock {
  readonly n: number;
  /** Min and max of ts (from the header: no need to make ts to know them). */
  readonly tsMin: number;
  readonly tsMax: number;
  readonly ts: Float64Array;
  /** 0/1. */
  readonly bot: Uint8Array;
  readonly dict: readonly string[];
  readonly session: Uint16Array | Uint32Array;
  /** [] when decoded without sessions. */
  readonly sessions: readonly string[];
  /** Codes of 'site' or of a property in COLUMN_PROPERTIES (page, referrer, browser, os, device, isp, domain, download, kind). */
  code(column: 'site' | (typeof COLUMN_PROPERTIES)[number]): Uint16Array | Uint32Array;
  /** dict.length and sessions.length, without making them. */
  readonly dictSize: number;
  readonly sessionsSize: number;
  /** The code of a dictionary string, or -1 when no event of the block has it: cheaper than searching `dict`. */
  codeOf(value: string): number;
  /** dict[code - 1], without making the whole dictionary. */
  entry(code: number): string;
  /** sessions[code - 1], without making the whole list (decoded with sessions only). */
  sessionEntry(code: number): string;
  /** The code of a session id, or -1 when no event of the block has it (decoded with sessions only). */
  sessionCodeOf(id: string): number;
}
/** Reused between blocks (grown up to a bound): codes before their width is known, and ts. */
const KEEP_SCRATCH = 4096;
let codeScratch = new Uint32Array(CODE_COLUMNS * 256);
let tsScratch = new Float64Array(256);
/**
 * Encodes one write slice. `rows[i]` must be `eventRow(events[i])`.
 *
 * @example
 * const b = encodeBlock(events.map(eventRow), events);
 * insertBlock.run(b.n, b.tsMin, b.tsMax, b.cols, b.dict, b.sessions, b.ids, b.rest);
 */
export function encodeBlock(rows: readonly EventRow[], events: readonly PrivacyEvent[]): EncodedBlock {
  const n = rows.length;
  if (n === 0 || events.length !== n)
    throw new Error(
      `event block: encodeBlock needs as many rows as events, at least one (got ${n} and ${events.length})`,
    );
  let codes = codeScratch;
  let tss = tsScratch;
  if (tss.length < n) {
    codes = new Uint32Array(CODE_COLUMNS * n);
    tss = new Float64Array(n);
    // Kept for the next blocks unless far beyond a write slice's size.
    if (n <= KEEP_SCRATCH) {
      codeScratch = codes;
      tsScratch = tss;
    }
  }
  const dict: string[] = [];
  const dictCodes = new Map<string, number>();
  const sessions: string[] = [];
  const sessionCodes = new Map<string, number>();
  // Filled by push: a packed array, which JSON.stringify writes faster than a holey one.
  const ids: string[] = [];
  const bots = new Uint8Array(n);
  // Per column, the last value and its code: neighbours mostly repeat site, kind, device, browser…
  const lastValue: (string | undefined | null)[] = new Array(BLOCK_COLUMNS.length).fill(null);
  const lastCode = new Uint32Array(BLOCK_COLUMNS.length);
  const maxCode = new Uint32Array(CODE_COLUMNS);
  const put = (column: number, i: number, v: string | undefined) => {
    if (v !== lastValue[column]) {
      let k = 0;
      if (v !== undefined) {
        k = dictCodes.get(v) ?? 0;
        if (k === 0) {
          k = dict.push(v);
          dictCodes.set(v, k);
        }
      }
      lastValue[column] = v;
      lastCode[column] = k;
      if (k > (maxCode[column] as number)) maxCode[column] = k;
    }
    codes[column * n + i] = lastCode[column] as number;
  };
  let tsMin = Number.POSITIVE_INFINITY;
  let tsMax = Number.NEGATIVE_INFINITY;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const r = rows[i] as EventRow;
    const t = r.ts;
    if (!Number.isFinite(t)) throw new Error(`event block: event ${r.id} has no valid time (ts ${t})`);
    if (t < tsMin) tsMin = t;
    if (t > tsMax) tsMax = t;
    if (!Number.isInteger(t)) integral = false;
    tss[i] = t;
    ids.push(r.id);
    bots[i] = r.bot ? 1 : 0;
    put(0, i, r.site);
    put(1, i, r.page);
    put(2, i, r.referrer);
    put(3, i, r.browser);
    put(4, i, r.os);
    put(5, i, r.device);
    put(6, i, r.isp);
    put(7, i, r.domain);
    put(8, i, r.download);
    put(9, i, r.kind);
    let s = 0;
    if (r.sessionId !== undefined) {
      s = sessionCodes.get(r.sessionId) ?? 0;
      if (s === 0) {
        s = sessions.push(r.sessionId);
        sessionCodes.set(r.sessionId, s);
      }
    }
    codes[SESSION_COLUMN * n + i] = s;
  }

  let flags = 0;
  if (dict.length >= NARROW_LIMIT || sessions.length >= NARROW_LIMIT) flags |= WIDE;
  if (!integral || tsMax - tsMin > 0xffff_ffff) flags |= TS_F64;
  const ab = new ArrayBuffer(blockLength(n, flags));
  const bytes = new Uint8Array(ab);
  const header = new DataView(ab);
  bytes[0] = EVENT_BLOCK_VERSION;
  bytes[1] = flags;
  header.setUint32(4, n, true);
  header.setFloat64(8, tsMin, true);
  header.setFloat64(16, tsMax, true);
  maxCode[SESSION_COLUMN] = sessions.length;
  for (let c = 0; c < CODE_COLUMNS; c++) header.setUint32(MAX_CODES + 4 * c, maxCode[c] as number, true);
  let at = HEADER;
  if (flags & TS_F64) {
    new Float64Array(ab, at, n).set(tss.subarray(0, n));
    at += n * 8;
  } else {
    const deltas = new Uint32Array(ab, at, n);
    for (let i = 0; i < n; i++) deltas[i] = (tss[i] as number) - tsMin;
    at += n * 4;
  }
  const all = codes.subarray(0, CODE_COLUMNS * n);
  if (flags & WIDE) new Uint32Array(ab, at, CODE_COLUMNS * n).set(all);
  else new Uint16Array(ab, at, CODE_COLUMNS * n).set(all);
  at += CODE_COLUMNS * n * (flags & WIDE ? 4 : 2);
  bytes.set(bots, at);
  if (!LITTLE_ENDIAN) swapSections(bytes, n, flags);
  return {
    n,
    tsMin,
    tsMax,
    cols: Buffer.from(ab),
    dict: JSON.stringify(dict),
    sessions: JSON.stringify(sessions),
    ids: JSON.stringify(ids),
    rest: encodeRest(rows, events),
  };
}
