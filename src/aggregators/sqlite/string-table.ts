/**
 * A JSON array of strings (an event block's dictionary) read lazily: one pass
 * locates the entries, and a string is made only for the entries asked for.
 * A query over a block typically needs a few codes (its filter values, the
 * kinds) and the keys of the groups it counted, not the whole array.
 *
 * JSON.stringify escapes nothing without a backslash, so a text free of them
 * reading `["a","b"]` has its entries between the quotes; any other text is
 * handed to JSON.parse.
 */

function invalid(what: string, reason: string): Error {
  return new Error(`event block: ${what} is ${reason}`);
}

/** Entries of a JSON array of strings, 1-based as block codes are. */
export class StringTable {
  /** Number of entries. */
  readonly length: number;
  private readonly json: string;
  /** Offset in `json` of each entry's first character (fast path), else undefined. */
  private readonly starts: Int32Array | undefined;
  private parsed: string[] | undefined;

  constructor(json: string, what: string) {
    this.json = json;
    const starts = locate(json);
    if (starts !== undefined) {
      this.starts = starts;
      this.length = starts.length;
      return;
    }
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch (err) {
      throw invalid(what, `not JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(v)) throw invalid(what, 'not a JSON array');
    for (const s of v) if (typeof s !== 'string') throw invalid(what, 'holding a non-string');
    this.parsed = v;
    this.length = v.length;
  }

  /** Entry `code` (1 … length). */
  entry(code: number): string {
    if (!(code >= 1 && code <= this.length))
      throw new Error(`event block: code ${code} past the ${this.length} dictionary entries; the block is corrupt`);
    if (this.parsed !== undefined) return this.parsed[code - 1] as string;
    const starts = this.starts as Int32Array;
    const from = starts[code - 1] as number;
    return this.json.slice(from, code < starts.length ? (starts[code] as number) - 3 : this.json.length - 2);
  }

  /** The code of `value` (1 … length), or -1 when it is not an entry. */
  codeOf(value: string): number {
    if (this.parsed !== undefined) {
      const i = this.parsed.indexOf(value);
      return i < 0 ? -1 : i + 1;
    }
    const starts = this.starts as Int32Array;
    const json = this.json;
    const n = starts.length;
    const len = value.length;
    for (let k = 0; k < n; k++) {
      const from = starts[k] as number;
      const to = k + 1 < n ? (starts[k + 1] as number) - 3 : json.length - 2;
      if (to - from === len && json.startsWith(value, from)) return k + 1;
    }
    return -1;
  }

  /** All entries, in order (made once). */
  all(): string[] {
    if (this.parsed === undefined) {
      const out = new Array<string>(this.length);
      for (let k = 1; k <= this.length; k++) out[k - 1] = this.entry(k);
      this.parsed = out;
    }
    return this.parsed;
  }
}

/** Reused by locate (grown as needed); each table keeps an exact copy. */
let scratch = new Int32Array(1024);

/** Start offsets of the entries of `["a","b",…]` without a backslash; undefined for any other text. */
function locate(json: string): Int32Array | undefined {
  const end = json.length;
  if (end === 2 && json === '[]') return new Int32Array(0);
  if (end < 4 || json.charCodeAt(0) !== 0x5b || json.charCodeAt(1) !== 0x22 || json.includes('\\')) return undefined;
  // Each entry takes at least 3 characters ("",), so there are at most end / 3 of them.
  if (scratch.length < end / 3 + 1) scratch = new Int32Array(Math.ceil(end / 3) + 1);
  const starts = scratch;
  let k = 0;
  let p = 2;
  for (;;) {
    const q = json.indexOf('"', p);
    if (q < 0) return undefined;
    starts[k++] = p;
    const next = json.charCodeAt(q + 1);
    if (next === 0x5d) return q + 2 === end ? starts.slice(0, k) : undefined;
    if (next !== 0x2c || json.charCodeAt(q + 2) !== 0x22) return undefined;
    p = q + 3;
  }
}
