/**
 * Reading event blocks (layout in event-block.ts): the columns queries read
 * (decodeQueryBlock), the rows (decodeRows) and the events (decodeEvents).
 */
import type { PrivacyEvent } from '../../event.js';
import type { EventRow } from '../../stats/event-columns.js';
import type { QueryBlock, StoredBlock } from './event-block.js';
import {
  BLOCK_COLUMNS,
  type BlockColumn,
  blockLength,
  CODE_COLUMNS,
  corrupt,
  EVENT_BLOCK_VERSION,
  HEADER,
  LITTLE_ENDIAN,
  MAX_CODES,
  SESSION_COLUMN,
  swapSections,
  TS_F64,
  WIDE,
} from './event-block-layout.js';
import { decodeRest } from './event-block-rest.js';
import { StringTable } from './string-table.js';

const COLUMN_INDEX = new Map<string, number>(BLOCK_COLUMNS.map((c, i) => [c, i]));

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

  sessionCodeOf(id: string): number {
    if (this.sessionTable === undefined)
      throw new Error(
        'event block: session ids asked of a block decoded without them: decodeQueryBlock(cols, dict, sessions)',
      );
    return this.sessionTable.codeOf(id);
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
 * Exactly the stored events (absent optional fields stay absent). `rows`, when
 * the caller has decoded them already, spares decoding them again.
 *
 * @example
 * for (const e of decodeEvents(block)) exportLine(JSON.stringify(e));
 */
export function decodeEvents(b: StoredBlock, rows: readonly EventRow[] = decodeRows(b)): PrivacyEvent[] {
  return decodeRest(b.rest, rows);
}
