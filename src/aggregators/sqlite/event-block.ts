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
 * dictionary is ignored by queries and refused by decodeRows.
 */
import type { PrivacyEvent } from '../../event.js';
import { COLUMN_PROPERTIES, type EventRow } from '../../stats/event-columns.js';
import { decodeRest, encodeRest } from './event-block-rest.js';
import { StringTable } from './string-table.js';

export type { BlockAccumulator } from './event-block-query.js';
export { blockCounts, blockSessions } from './event-block-query.js';

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

/** The query columns, in their order in `cols`. */
export const BLOCK_COLUMNS = ['site', ...COLUMN_PROPERTIES] as const;
export type BlockColumn = (typeof BLOCK_COLUMNS)[number];

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
}

/** Version of the `cols` layout: its first byte. */
export const EVENT_BLOCK_VERSION = 1;
const WIDE = 1;
const TS_F64 = 2;
const HEADER = 72;
/** Offset of the per-column largest codes in the header. */
const MAX_CODES = 24;
/** The query columns plus the session column. */
const CODE_COLUMNS = BLOCK_COLUMNS.length + 1;
const SESSION_COLUMN = BLOCK_COLUMNS.length;
/** Dictionaries with fewer entries than this get 16-bit codes. */
const NARROW_LIMIT = 65_535;
const COLUMN_INDEX = new Map<string, number>(BLOCK_COLUMNS.map((c, i) => [c, i]));
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reused between blocks (grown up to a bound): codes before their width is known, and ts. */
const KEEP_SCRATCH = 4096;
let codeScratch = new Uint32Array(CODE_COLUMNS * 256);
let tsScratch = new Float64Array(256);

/**
 * Typed arrays are in the platform's byte order: on a big-endian one, the ts and
 * code sections are swapped to the stored (little-endian) order and back. The
 * header is always little-endian, read and written field by field.
 */
function swapSections(bytes: Uint8Array, n: number, flags: number): void {
  const swap = (from: number, count: number, width: number) => {
    for (let i = from; i < from + count * width; i += width) bytes.subarray(i, i + width).reverse();
  };
  const tsWidth = flags & TS_F64 ? 8 : 4;
  swap(HEADER, n, tsWidth);
  swap(HEADER + n * tsWidth, CODE_COLUMNS * n, flags & WIDE ? 4 : 2);
}

function blockLength(n: number, flags: number): number {
  return HEADER + n * (flags & TS_F64 ? 8 : 4) + CODE_COLUMNS * n * (flags & WIDE ? 4 : 2) + n;
}

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
  const ids: string[] = new Array(n);
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
    ids[i] = r.id;
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

function corrupt(what: string): Error {
  return new Error(`event block: cols is corrupt or truncated (${what}); the block cannot be read`);
}

class DecodedBlock implements QueryBlock {
  private readonly codes: Uint16Array | Uint32Array;
  private readonly bytes: Uint8Array;
  private readonly flags: number;
  private times: Float64Array | undefined;
  private bots: Uint8Array | undefined;

  constructor(
    readonly n: number,
    readonly tsMin: number,
    readonly tsMax: number,
    bytes: Uint8Array,
    flags: number,
    private readonly table: StringTable,
    private readonly sessionTable: StringTable | undefined,
  ) {
    this.bytes = bytes;
    this.flags = flags;
    const at = bytes.byteOffset + HEADER + n * (flags & TS_F64 ? 8 : 4);
    const count = CODE_COLUMNS * n;
    this.codes = flags & WIDE ? new Uint32Array(bytes.buffer, at, count) : new Uint16Array(bytes.buffer, at, count);
  }

  get session(): Uint16Array | Uint32Array {
    return this.codes.subarray(SESSION_COLUMN * this.n, CODE_COLUMNS * this.n);
  }

  /** Made when first asked for: a query over blocks wholly inside its range never needs it. */
  get ts(): Float64Array {
    if (this.times !== undefined) return this.times;
    const { n, bytes, tsMin } = this;
    const at = bytes.byteOffset + HEADER;
    let ts: Float64Array;
    if (this.flags & TS_F64) ts = new Float64Array(bytes.buffer, at, n);
    else {
      const deltas = new Uint32Array(bytes.buffer, at, n);
      ts = new Float64Array(n);
      for (let i = 0; i < n; i++) ts[i] = tsMin + (deltas[i] as number);
    }
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const t = ts[i] as number;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    if (lo !== tsMin || hi !== this.tsMax)
      throw corrupt(`times ${lo}…${hi} where the header says ${tsMin}…${this.tsMax}`);
    this.times = ts;
    return ts;
  }

  get bot(): Uint8Array {
    if (this.bots !== undefined) return this.bots;
    const { n, bytes } = this;
    const bot = new Uint8Array(bytes.buffer, bytes.byteOffset + bytes.length - n, n);
    let any = 0;
    for (let i = 0; i < n; i++) any |= bot[i] as number;
    if (any > 1) throw corrupt('a bot value other than 0 or 1');
    this.bots = bot;
    return bot;
  }

  get dictSize(): number {
    return this.table.length;
  }

  get sessionsSize(): number {
    return this.sessionTable === undefined ? 0 : this.sessionTable.length;
  }

  get dict(): readonly string[] {
    return this.table.all();
  }

  get sessions(): readonly string[] {
    return this.sessionTable === undefined ? [] : this.sessionTable.all();
  }

  codeOf(value: string): number {
    return this.table.codeOf(value);
  }

  entry(code: number): string {
    return this.table.entry(code);
  }

  sessionEntry(code: number): string {
    if (this.sessionTable === undefined)
      throw new Error(
        'event block: session ids asked of a block decoded without them: decodeQueryBlock(cols, dict, sessions)',
      );
    return this.sessionTable.entry(code);
  }

  code(column: BlockColumn): Uint16Array | Uint32Array {
    const c = COLUMN_INDEX.get(column);
    if (c === undefined)
      throw new Error(`event block: no column "${String(column)}"; columns: ${BLOCK_COLUMNS.join(', ')}`);
    return this.codes.subarray(c * this.n, (c + 1) * this.n);
  }
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** The little-endian f64 at `at`. */
function f64At(b: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) F64_BYTES[LITTLE_ENDIAN ? i : 7 - i] = b[at + i] as number;
  return F64[0] as number;
}

/** The little-endian u32 at `at`. */
function u32At(b: Uint8Array, at: number): number {
  return (
    (b[at] as number) +
    (b[at + 1] as number) * 0x100 +
    (b[at + 2] as number) * 0x1_0000 +
    (b[at + 3] as number) * 0x100_0000
  );
}

/** Checks the header (version, flags, length, time range, largest codes against the dictionaries). */
function readHeader(cols: Uint8Array, dict: StringTable, sessions: StringTable | undefined): number {
  if (cols.length < HEADER) throw corrupt(`${cols.length} bytes, shorter than the ${HEADER}-byte header`);
  const version = cols[0] as number;
  if (version !== EVENT_BLOCK_VERSION)
    throw new Error(
      `event block: unknown format version ${version} (this build reads version ${EVENT_BLOCK_VERSION}); the store was written by another version of privacy-log`,
    );
  const flags = cols[1] as number;
  if (flags & ~(WIDE | TS_F64)) throw corrupt(`unknown flags 0x${flags.toString(16)}`);
  const n = u32At(cols, 4);
  const want = blockLength(n, flags);
  if (n === 0 || cols.length !== want) throw corrupt(`${cols.length} bytes where ${n} events take ${want}`);
  const tsMin = f64At(cols, 8);
  const tsMax = f64At(cols, 16);
  if (!(tsMin <= tsMax) || !Number.isFinite(tsMin) || !Number.isFinite(tsMax))
    throw corrupt(`time range ${tsMin}…${tsMax}`);
  for (let c = 0; c < CODE_COLUMNS; c++) {
    const max = u32At(cols, MAX_CODES + 4 * c);
    const entries = c < SESSION_COLUMN ? dict.length : sessions === undefined ? max : sessions.length;
    if (max > entries)
      throw corrupt(
        `${c < SESSION_COLUMN ? BLOCK_COLUMNS[c] : 'session'} codes up to ${max} with ${entries} dictionary entries`,
      );
  }
  return n;
}

/** The bytes in the stored order as this platform's typed arrays read them, 8-aligned (copied only when needed). */
function aligned(cols: Uint8Array, n: number, flags: number): Uint8Array {
  if (LITTLE_ENDIAN && (cols.byteOffset & 7) === 0) return cols;
  const copy = new Uint8Array(cols);
  if (!LITTLE_ENDIAN) swapSections(copy, n, flags);
  return copy;
}

/**
 * The columns queries read. `cols` may be any Uint8Array or Buffer (alignment
 * not required); `sessions` only when the session column is needed.
 *
 * @example
 * const acc = blockCounts(spec);
 * for (const row of selectBlocks.iterate(spec.from, spec.to)) acc.add(decodeQueryBlock(row.cols, row.dict));
 * const counts = acc.result();
 */
export function decodeQueryBlock(cols: Uint8Array, dict: string, sessions?: string): QueryBlock {
  const table = new StringTable(dict, 'dict');
  const sessionTable = sessions === undefined ? undefined : new StringTable(sessions, 'sessions');
  const n = readHeader(cols, table, sessionTable);
  const flags = cols[1] as number;
  return new DecodedBlock(n, f64At(cols, 8), f64At(cols, 16), aligned(cols, n, flags), flags, table, sessionTable);
}

function badSession(code: number): never {
  throw corrupt(`session code ${code} past the session ids`);
}

/**
 * Exactly `eventRow(e)` for each stored event, in order.
 *
 * @example
 * const rows = decodeRows(db.prepare('SELECT cols, dict, sessions, ids, rest FROM event_blocks WHERE rowid = ?').get(id));
 */
export function decodeRows(b: StoredBlock): EventRow[] {
  const q = decodeQueryBlock(b.cols, b.dict, b.sessions);
  const ids = new StringTable(b.ids, 'ids').all();
  if (ids.length !== q.n) throw new Error(`event block: ids holds ${ids.length} ids for ${q.n} events`);
  const { dict, sessions, ts, bot, session, n } = q;
  const columns = BLOCK_COLUMNS.map((c) => q.code(c));
  const [site, page, referrer, browser, os, device, isp, domain, download, kind] = columns as [
    Uint16Array,
    ...Uint16Array[],
  ];
  const at = (codes: Uint16Array | Uint32Array | undefined, i: number) => {
    const k = (codes as Uint16Array)[i] as number;
    if (k > dict.length) throw corrupt(`code ${k} with ${dict.length} dictionary entries`);
    return k === 0 ? undefined : dict[k - 1];
  };
  const out: EventRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = session[i] as number;
    out[i] = {
      page: at(page, i),
      referrer: at(referrer, i),
      browser: at(browser, i),
      os: at(os, i),
      device: at(device, i),
      isp: at(isp, i),
      domain: at(domain, i),
      download: at(download, i),
      kind: at(kind, i),
      id: ids[i] as string,
      ts: ts[i] as number,
      site: at(site, i) as string,
      bot: bot[i] === 1,
      sessionId: s === 0 ? undefined : s <= sessions.length ? sessions[s - 1] : badSession(s),
    };
  }
  return out;
}

/**
 * Exactly the stored events (absent optional fields stay absent).
 *
 * @example
 * for (const e of decodeEvents(block)) exportLine(JSON.stringify(e));
 */
export function decodeEvents(b: StoredBlock): PrivacyEvent[] {
  return decodeRest(b.rest, decodeRows(b));
}
