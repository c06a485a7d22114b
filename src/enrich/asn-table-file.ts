/**
 * The binary cache file of an {@link AsnTable}: building the table from CSV
 * takes ~1 s, loading this file ~30 ms. Layout (all little-endian):
 *
 *   8 bytes  magic "PLASNTB1"
 *   4 bytes  header length H
 *   H bytes  header JSON: { key, sections: [[name, byteOffset, length]…] }
 *   …        8-aligned typed-array sections, then the names (UTF-8, '\n'-joined)
 *   4 bytes  CRC-32 of everything before it
 *
 * `key` names the data it was built from (package version, file sizes and
 * modification times); a file with another key is stale and rebuilt.
 */
import { crc32 } from 'node:zlib';
import { AsnTable, type AsnTableData } from './asn-table.js';
import { NameTable } from './name-table.js';

const MAGIC = 'PLASNTB1';

type Section = [name: keyof AsnTableData, offset: number, length: number];

const ARRAY_KINDS = {
  v4Start: Uint32Array,
  v4End: Uint32Array,
  v4Pair: Uint32Array,
  v6Start: Float64Array,
  v6End: Float64Array,
  v6Pair: Uint32Array,
  pairAsn: Uint32Array,
  pairName: Uint32Array,
} as const;

type ArrayName = keyof typeof ARRAY_KINDS;
const ARRAY_NAMES = Object.keys(ARRAY_KINDS) as ArrayName[];

const align8 = (n: number): number => (n + 7) & ~7;

/** Serializes a table; `key` identifies its source data. */
export function encodeAsnTable(table: AsnTable, key: string): Buffer {
  const d = table.data;
  const names = d.names.utf8;
  // header size depends on offsets; compute offsets relative to the data start, then fix up
  const rel: Section[] = [];
  let off = 0;
  for (const name of ARRAY_NAMES) {
    off = align8(off);
    rel.push([name, off, d[name].length]);
    off += d[name].byteLength;
  }
  rel.push(['names', off, names.length]);
  const dataLength = off + names.length;
  const probe = Buffer.from(JSON.stringify({ key, sections: rel }));
  const dataStart = align8(12 + probe.length + 64); // headroom for longer offsets
  const sections: Section[] = rel.map(([n, o, l]) => [n, o + dataStart, l]);
  const header = Buffer.from(JSON.stringify({ key, sections }));
  if (12 + header.length > dataStart) throw new Error('ASN table header overflow');
  const out = Buffer.alloc(dataStart + dataLength + 4);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  for (const [name, o] of sections) {
    if (name === 'names') names.copy(out, o);
    else {
      const arr = d[name as ArrayName];
      Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength).copy(out, o);
    }
  }
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

/** Why a cache file was not used. */
export type DecodeFailure = 'corrupt' | 'stale';

/**
 * Reads a table back. Returns 'stale' when the file was built from other data,
 * 'corrupt' when it is truncated, fails its checksum or is malformed.
 */
export function decodeAsnTable(buf: Buffer, expectedKey: string): AsnTable | DecodeFailure {
  try {
    if (buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC) return 'corrupt';
    const headerLength = buf.readUInt32LE(8);
    if (12 + headerLength > buf.length - 4) return 'corrupt';
    if (crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) return 'corrupt';
    const header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as { key?: unknown; sections?: unknown };
    if (header.key !== expectedKey) return 'stale';
    if (!Array.isArray(header.sections)) return 'corrupt';
    const parts: Partial<Record<keyof AsnTableData, unknown>> = {};
    for (const s of header.sections as unknown[]) {
      if (!Array.isArray(s) || s.length !== 3) return 'corrupt';
      const [name, o, l] = s as [unknown, unknown, unknown];
      if (typeof name !== 'string' || !Number.isSafeInteger(o) || !Number.isSafeInteger(l)) return 'corrupt';
      const offset = o as number;
      const length = l as number;
      if (name === 'names') {
        if (offset + length > buf.length - 4) return 'corrupt';
        parts.names = NameTable.fromUtf8(buf.subarray(offset, offset + length));
        continue;
      }
      const Kind = ARRAY_KINDS[name as ArrayName];
      if (Kind === undefined || offset % 8 !== 0) return 'corrupt';
      const bytes = length * Kind.BYTES_PER_ELEMENT;
      if (offset + bytes > buf.length - 4) return 'corrupt';
      // copy out so the file buffer can be released
      const copy = new Kind(length);
      new Uint8Array(copy.buffer).set(buf.subarray(offset, offset + bytes));
      parts[name as ArrayName] = copy;
    }
    const data = parts as AsnTableData;
    for (const name of ARRAY_NAMES) if (!(data[name] instanceof ARRAY_KINDS[name])) return 'corrupt';
    if (!(data.names instanceof NameTable)) return 'corrupt';
    if (data.v4Start.length !== data.v4End.length || data.v4Start.length !== data.v4Pair.length) return 'corrupt';
    if (data.v6Start.length !== data.v6End.length || data.v6Start.length !== data.v6Pair.length) return 'corrupt';
    if (data.pairAsn.length !== data.pairName.length) return 'corrupt';
    const pairs = data.pairAsn.length;
    for (const p of data.v4Pair) if (p >= pairs) return 'corrupt';
    for (const p of data.v6Pair) if (p >= pairs) return 'corrupt';
    for (const n of data.pairName) if (n >= data.names.length) return 'corrupt';
    return new AsnTable(data);
  } catch {
    return 'corrupt';
  }
}
