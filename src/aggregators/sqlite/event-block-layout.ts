/**
 * Constants and helpers of the event-block `cols` layout (documented in
 * event-block.ts), shared by the encoder there and the decoder in
 * event-block-decode.ts.
 */
import { COLUMN_PROPERTIES } from '../../stats/event-columns.js';

/** The query columns, in their order in `cols`. */
export const BLOCK_COLUMNS = ['site', ...COLUMN_PROPERTIES] as const;
export type BlockColumn = (typeof BLOCK_COLUMNS)[number];

/** Version of the `cols` layout: its first byte. */
export const EVENT_BLOCK_VERSION = 1;
export const WIDE = 1;
export const TS_F64 = 2;
export const HEADER = 72;
/** Offset of the per-column largest codes in the header. */
export const MAX_CODES = 24;
/** The query columns plus the session column. */
export const CODE_COLUMNS = BLOCK_COLUMNS.length + 1;
export const SESSION_COLUMN = BLOCK_COLUMNS.length;
/** Dictionaries with fewer entries than this get 16-bit codes. */
export const NARROW_LIMIT = 65_535;
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Typed arrays are in the platform's byte order: on a big-endian one, the ts and
 * code sections are swapped to the stored (little-endian) order and back. The
 * header is always little-endian, read and written field by field.
 */
export function swapSections(bytes: Uint8Array, n: number, flags: number): void {
  const swap = (from: number, count: number, width: number) => {
    for (let i = from; i < from + count * width; i += width) bytes.subarray(i, i + width).reverse();
  };
  const tsWidth = flags & TS_F64 ? 8 : 4;
  swap(HEADER, n, tsWidth);
  swap(HEADER + n * tsWidth, CODE_COLUMNS * n, flags & WIDE ? 4 : 2);
}

export function blockLength(n: number, flags: number): number {
  return HEADER + n * (flags & TS_F64 ? 8 : 4) + CODE_COLUMNS * n * (flags & WIDE ? 4 : 2) + n;
}

export function corrupt(what: string): Error {
  return new Error(`event block: cols is corrupt or truncated (${what}); the block cannot be read`);
}
