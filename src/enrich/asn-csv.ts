/**
 * Builds an {@link AsnTable} from the CSV files of `@ip-location-db/asn`:
 * `start,end,asn,name` rows, IPv4 as integers (`asn-ipv4-num.csv`), IPv6 as
 * text (`asn-ipv6.csv`). Parsing yields to the event loop between slices, so a
 * server keeps answering while the table builds.
 */
import { AsnTable } from './asn-table.js';
import { ispName } from './isp-name.js';
import { parseIPv6 } from './routable-prefix.js';

/** Longest stretch of parsing, in ms, before yielding to the event loop. */
export const CSV_SLICE_MS = 10;
/** Rows between two looks at the clock. */
const ROWS_PER_CLOCK_CHECK = 1024;

export interface AsnCsvStats {
  /** Rows that did not parse (wrong field count, bad number or address) and were skipped. */
  badRows: number;
  /** Rows that covered no prefix network address, or overlapped an earlier row. */
  droppedRanges: number;
}

class PairTable {
  readonly names: string[] = [];
  readonly asn: number[] = [];
  readonly name: number[] = [];
  private readonly nameIndex = new Map<string, number>();
  private readonly pairIndex = new Map<number, number>();

  pair(asn: number, rawName: string): number {
    let name = ispName(rawName, asn);
    let n = this.nameIndex.get(name);
    if (n === undefined) {
      n = this.names.length;
      // a copy: a slice would keep the whole CSV text alive (V8 sliced strings)
      name = Buffer.from(name, 'utf8').toString('utf8');
      this.names.push(name);
      this.nameIndex.set(name, n);
    }
    const key = asn * 1048576 + n;
    let p = this.pairIndex.get(key);
    if (p === undefined) {
      p = this.asn.length;
      this.asn.push(asn);
      this.name.push(n);
      this.pairIndex.set(key, p);
    }
    return p;
  }
}

function parseUint(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return Number.NaN;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    n = n * 10 + c;
  }
  return n;
}

function unquote(s: string, from: number, to: number): string {
  let end = to;
  if (end > from && s.charCodeAt(end - 1) === 13) end--; // CRLF
  if (s.charCodeAt(from) === 34 /* " */ && end - from >= 2 && s.charCodeAt(end - 1) === 34) {
    return s.slice(from + 1, end - 1).replaceAll('""', '"');
  }
  return s.slice(from, end);
}

interface Ranges {
  start: Float64Array;
  end: Float64Array;
  pair: Uint32Array;
  count: number;
}

function countLines(text: string): number {
  let n = 0;
  let i = -1;
  for (;;) {
    i = text.indexOf('\n', i + 1);
    if (i < 0) break;
    n++;
  }
  return n + 1;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Rows → ranges in prefix units. `unit` is 2^8 (IPv4 /24) for IPv4 integer rows;
 * IPv6 rows are converted to /48 units directly.
 */
async function parseRows(text: string, family: 4 | 6, pairs: PairTable, stats: AsnCsvStats): Promise<Ranges> {
  const cap = countLines(text);
  const start = new Float64Array(cap);
  const end = new Float64Array(cap);
  const pair = new Uint32Array(cap);
  const words = new Uint32Array(4);
  let count = 0;
  let pos = 0;
  let rows = 0;
  const byAsn = new Map<number, { raw: string; pair: number }>();
  let sliceStart = performance.now();
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    const c1 = text.indexOf(',', pos);
    const c2 = c1 < 0 || c1 > eol ? -1 : text.indexOf(',', c1 + 1);
    const c3 = c2 < 0 || c2 > eol ? -1 : text.indexOf(',', c2 + 1);
    if (eol > pos) {
      if (c3 < 0 || c3 > eol) {
        stats.badRows++;
      } else {
        const asn = parseUint(text, c2 + 1, c3);
        let s: number;
        let e: number;
        if (family === 4) {
          const a = parseUint(text, pos, c1);
          const b = parseUint(text, c1 + 1, c2);
          s = Math.ceil(a / 256);
          e = Math.floor(b / 256);
          if (!(b <= 0xffffffff && a <= b)) s = Number.NaN;
        } else if (parseIPv6(text.slice(pos, c1), words)) {
          const w = words;
          s = (w[0] as number) * 65536 + ((w[1] as number) >>> 16);
          if (((w[1] as number) & 0xffff) !== 0 || w[2] !== 0 || w[3] !== 0) s++;
          e = parseIPv6(text.slice(c1 + 1, c2), words) ? (w[0] as number) * 65536 + ((w[1] as number) >>> 16) : -1;
        } else {
          s = Number.NaN;
          e = Number.NaN;
        }
        if (Number.isNaN(s) || Number.isNaN(e) || e < 0 || Number.isNaN(asn) || asn > 0xffffffff) {
          stats.badRows++;
        } else if (asn === 0 || s > e) {
          stats.droppedRanges++;
        } else {
          start[count] = s;
          end[count] = e;
          // an AS number nearly always comes with one name: compare the raw text in place
          // and skip hashing the name string (the slow part of a build)
          const seen = byAsn.get(asn);
          if (seen !== undefined && eol - c3 - 1 === seen.raw.length && text.startsWith(seen.raw, c3 + 1)) {
            pair[count] = seen.pair;
          } else {
            const raw = text.slice(c3 + 1, eol);
            const p = pairs.pair(asn, unquote(raw, 0, raw.length));
            byAsn.set(asn, { raw, pair: p });
            pair[count] = p;
          }
          count++;
        }
      }
    }
    pos = eol + 1;
    if (++rows % ROWS_PER_CLOCK_CHECK === 0 && performance.now() - sliceStart > CSV_SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  return { start, end, pair, count };
}

/** Sorts (if needed), clips overlaps (the earlier row wins) and merges adjacent ranges of the same pair. */
function normalize(r: Ranges, stats: AsnCsvStats): Ranges {
  let order: number[] | undefined;
  for (let i = 1; i < r.count; i++) {
    if ((r.start[i] as number) < (r.start[i - 1] as number)) {
      order = Array.from({ length: r.count }, (_, k) => k).sort(
        (a, b) => (r.start[a] as number) - (r.start[b] as number),
      );
      break;
    }
  }
  const start = new Float64Array(r.count);
  const end = new Float64Array(r.count);
  const pair = new Uint32Array(r.count);
  let n = 0;
  for (let k = 0; k < r.count; k++) {
    const i = order ? (order[k] as number) : k;
    let s = r.start[i] as number;
    const e = r.end[i] as number;
    const p = r.pair[i] as number;
    if (n > 0 && s <= (end[n - 1] as number)) s = (end[n - 1] as number) + 1;
    if (s > e) {
      stats.droppedRanges++;
      continue;
    }
    if (n > 0 && s === (end[n - 1] as number) + 1 && pair[n - 1] === p) {
      end[n - 1] = e;
      continue;
    }
    start[n] = s;
    end[n] = e;
    pair[n] = p;
    n++;
  }
  return { start: start.slice(0, n), end: end.slice(0, n), pair: pair.slice(0, n), count: n };
}

/**
 * Builds the table from the two CSV texts.
 *
 * @example
 * const { table } = await buildAsnTable(readFileSync(v4Num, 'latin1'), readFileSync(v6, 'latin1'));
 */
export async function buildAsnTable(
  ipv4NumCsv: string,
  ipv6Csv: string,
): Promise<{ table: AsnTable; stats: AsnCsvStats }> {
  const stats: AsnCsvStats = { badRows: 0, droppedRanges: 0 };
  const pairs = new PairTable();
  const v4 = normalize(await parseRows(ipv4NumCsv, 4, pairs, stats), stats);
  const v6 = normalize(await parseRows(ipv6Csv, 6, pairs, stats), stats);
  const table = new AsnTable({
    v4Start: Uint32Array.from(v4.start),
    v4End: Uint32Array.from(v4.end),
    v4Pair: v4.pair,
    v6Start: v6.start,
    v6End: v6.end,
    v6Pair: v6.pair,
    pairAsn: Uint32Array.from(pairs.asn),
    pairName: Uint32Array.from(pairs.name),
    names: pairs.names,
  });
  return { table, stats };
}
