/**
 * A sketch bundle: every compacted sketch of one (dimension, UTC day, site)
 * in one blob, one row of table `sketch_days` (migration 6). A 30-day page
 * breakdown read 9 000 rows of `sketches`, one per (day, page), and the
 * driver's cost per row (a row object, a Buffer per blob: ≈ 2 µs) was most
 * of a first query's time; it now reads 30 rows.
 *
 * Layout, little-endian:
 *
 *   u8   version (1)
 *   u32  count, the number of entries
 *   then count entries of
 *     u32  value length in bytes, then the value (UTF-8)
 *     u32  registers length in bytes, then the registers (an encoded HyperLogLog, hll.ts)
 *
 * The length must come out exact. Decoding refuses anything else with an
 * error naming the damage; the registers themselves are checked where they
 * are merged (a damaged blob's invalid pairs are dropped there).
 */

const BUNDLE_VERSION = 1;
const HEADER = 5;

/** One value's compacted sketch in a bundle. */
export interface BundleEntry {
  value: string;
  registers: Uint8Array;
}

/**
 * Encode entries (any order; each value once) as one bundle.
 *
 * @example
 * const blob = encodeBundle([{ value: '/news', registers: hll.encode() }]);
 */
export function encodeBundle(entries: Iterable<BundleEntry>): Uint8Array {
  const values: Buffer[] = [];
  const registers: Uint8Array[] = [];
  let size = HEADER;
  for (const e of entries) {
    const v = Buffer.from(e.value, 'utf8');
    values.push(v);
    registers.push(e.registers);
    size += 8 + v.length + e.registers.length;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = BUNDLE_VERSION;
  out.writeUInt32LE(values.length, 1);
  let o = HEADER;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as Buffer;
    const r = registers[i] as Uint8Array;
    out.writeUInt32LE(v.length, o);
    v.copy(out, o + 4);
    o += 4 + v.length;
    out.writeUInt32LE(r.length, o);
    out.set(r, o + 4);
    o += 4 + r.length;
  }
  return out;
}

const damaged = (why: string) => new Error(`sketch bundle: damaged (${why}); its day's visitor counts cannot be read`);

/**
 * The entries of a bundle; their registers are views into `blob` (copy them
 * to keep them past the blob's life if it is reused).
 *
 * @example
 * for (const { value, registers } of decodeBundle(row.bundle)) merge(value, registers);
 */
export function decodeBundle(blob: Uint8Array): BundleEntry[] {
  const b = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < HEADER) throw damaged(`${b.length} bytes, shorter than its header`);
  if (b[0] !== BUNDLE_VERSION) throw damaged(`version ${b[0]}, expected ${BUNDLE_VERSION}`);
  const count = b.readUInt32LE(1);
  // Every entry takes at least 8 bytes: a count beyond that is damage, not an allocation to attempt.
  if (count > (b.length - HEADER) / 8) throw damaged(`${count} entries cannot fit in ${b.length} bytes`);
  const out: BundleEntry[] = new Array(count);
  let o = HEADER;
  for (let i = 0; i < count; i++) {
    if (o + 4 > b.length) throw damaged(`entry ${i} starts past the end`);
    const vn = b.readUInt32LE(o);
    if (o + 4 + vn + 4 > b.length) throw damaged(`entry ${i}'s value runs past the end`);
    const value = b.toString('utf8', o + 4, o + 4 + vn);
    o += 4 + vn;
    const rn = b.readUInt32LE(o);
    if (o + 4 + rn > b.length) throw damaged(`entry ${i}'s registers run past the end`);
    out[i] = { value, registers: b.subarray(o + 4, o + 4 + rn) };
    o += 4 + rn;
  }
  if (o !== b.length) throw damaged(`${b.length - o} bytes after the last entry`);
  return out;
}

/** The number of entries a bundle says it holds (its header alone), or 0 when it has no readable header. */
export function bundleCount(blob: Uint8Array): number {
  if (blob.length < HEADER || blob[0] !== BUNDLE_VERSION) return 0;
  return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).readUInt32LE(1);
}
