/**
 * The ISP names of the ASN table as one UTF-8 block with an offset table,
 * instead of ~80 000 JavaScript strings (≈ 6 MiB of heap for the shipped data,
 * ≈ 2 MiB as bytes). A name becomes a string only when a lookup first needs it
 * (the table caches the record it builds), so the heap holds the names of the
 * networks a site actually sees.
 */

const NEWLINE = 0x0a;

export class NameTable {
  /** The names, UTF-8, each followed by '\n' but the last: the cache file's names section as is. */
  readonly utf8: Buffer;
  /** Name i is utf8[starts[i], starts[i + 1] - 1) (the last one ends at utf8.length). */
  private readonly starts: Uint32Array;

  private constructor(utf8: Buffer, starts: Uint32Array) {
    this.utf8 = utf8;
    this.starts = starts;
  }

  /**
   * The table of these names. Throws when a name contains a newline (the separator).
   *
   * @example
   * NameTable.fromStrings(['Google LLC', 'PJSC Rostelecom']).get(1); // 'PJSC Rostelecom'
   */
  static fromStrings(names: readonly string[]): NameTable {
    for (const name of names) {
      if (name.includes('\n')) throw new Error('ASN names must not contain newlines');
    }
    return NameTable.fromUtf8(Buffer.from(names.join('\n'), 'utf8'), names.length);
  }

  /**
   * The table over a copy of `bytes` ('\n'-separated UTF-8). `count` (optional)
   * tells an empty block of no names from a block of one empty name.
   */
  static fromUtf8(bytes: Uint8Array, count?: number): NameTable {
    const utf8 = Buffer.from(bytes); // a copy: the file buffer it came from can be released
    if (utf8.length === 0 && count !== 1) return new NameTable(utf8, new Uint32Array(0));
    let n = 1;
    for (let i = 0; i < utf8.length; i++) if (utf8[i] === NEWLINE) n++;
    const starts = new Uint32Array(n);
    let k = 1;
    for (let i = 0; i < utf8.length; i++) if (utf8[i] === NEWLINE) starts[k++] = i + 1;
    return new NameTable(utf8, starts);
  }

  /** Number of names. */
  get length(): number {
    return this.starts.length;
  }

  /** Bytes held: the UTF-8 block and the offsets. */
  get byteLength(): number {
    return this.utf8.length + this.starts.byteLength;
  }

  /** Name `i` (a new string each call; callers cache). Undefined outside 0..length-1. */
  get(i: number): string | undefined {
    if (i >>> 0 !== i || i >= this.starts.length) return undefined;
    const start = this.starts[i] as number;
    const end = i + 1 < this.starts.length ? (this.starts[i + 1] as number) - 1 : this.utf8.length;
    return this.utf8.toString('utf8', start, end);
  }

  /** Every name, as strings (for tests and tools). */
  toArray(): string[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i) as string);
  }
}
