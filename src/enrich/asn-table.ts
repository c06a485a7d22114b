/**
 * A compact, binary-searchable ASN table keyed by routable prefix.
 *
 * Ranges are stored in prefix units: IPv4 in /24s (integers < 2^24), IPv6 in
 * /48s (integers < 2^48, exact in a float64). A range covers the prefixes whose
 * network address it contains, so a lookup of a prefix equals a lookup of its
 * network address in the source data. Each range points at an (ASN, name) pair;
 * names are deduplicated.
 */
import type { IspRecord } from './isp-resolver.js';
import { NameTable } from './name-table.js';

export interface AsnTableData {
  /** IPv4 ranges in /24 units, inclusive, sorted, non-overlapping. */
  v4Start: Uint32Array;
  v4End: Uint32Array;
  v4Pair: Uint32Array;
  /** IPv6 ranges in /48 units, inclusive, sorted, non-overlapping. */
  v6Start: Float64Array;
  v6End: Float64Array;
  v6Pair: Uint32Array;
  /** Pair i is (pairAsn[i], names.get(pairName[i])). */
  pairAsn: Uint32Array;
  pairName: Uint32Array;
  /** The deduplicated names, as one UTF-8 block (see name-table.ts). */
  names: NameTable;
}

/** {@link AsnTableData} with the names given as a list of strings, or as a {@link NameTable}. */
export type AsnTableInput = Omit<AsnTableData, 'names'> & { names: NameTable | readonly string[] };

export class AsnTable {
  readonly data: AsnTableData;
  private readonly records: (IspRecord | undefined)[];

  constructor(input: AsnTableInput) {
    const names = input.names instanceof NameTable ? input.names : NameTable.fromStrings(input.names);
    const data: AsnTableData = { ...input, names };
    this.data = data;
    this.records = new Array(data.pairAsn.length);
  }

  /** Number of IPv4 and IPv6 ranges. */
  get size(): { v4: number; v6: number; pairs: number; names: number } {
    const d = this.data;
    return { v4: d.v4Start.length, v6: d.v6Start.length, pairs: d.pairAsn.length, names: d.names.length };
  }

  /** Bytes held by the typed arrays (names not included; see {@link namesBytes}). */
  get arrayBytes(): number {
    const d = this.data;
    return (
      d.v4Start.byteLength +
      d.v4End.byteLength +
      d.v4Pair.byteLength +
      d.v6Start.byteLength +
      d.v6End.byteLength +
      d.v6Pair.byteLength +
      d.pairAsn.byteLength +
      d.pairName.byteLength
    );
  }

  /** Bytes of the deduplicated names (their UTF-8 block and its offsets). */
  get namesBytes(): number {
    return this.data.names.byteLength;
  }

  /** The record for a routable prefix (/24 or /48 as an integer), if any. */
  lookup(family: 4 | 6, prefix: number): IspRecord | undefined {
    const d = this.data;
    const starts = family === 4 ? d.v4Start : d.v6Start;
    // last range whose start <= prefix
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= prefix) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return undefined;
    const end = family === 4 ? d.v4End[hi] : d.v6End[hi];
    if ((end as number) < prefix) return undefined;
    const pair = (family === 4 ? d.v4Pair[hi] : d.v6Pair[hi]) as number;
    return this.records[pair] ?? this.record(pair);
  }

  private record(pair: number): IspRecord {
    const d = this.data;
    const rec: IspRecord = Object.freeze({
      isp: d.names.get(d.pairName[pair] as number) as string,
      asn: d.pairAsn[pair] as number,
    });
    this.records[pair] = rec;
    return rec;
  }
}
