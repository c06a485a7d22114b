/**
 * The spool's record format. One record per batch:
 *
 * ```
 * offset size
 *  0      4   magic 0xFF 'P' 'L' '1'   (0xFF never occurs in UTF-8, so a resync scan cannot
 *                                       mistake JSON payload bytes for a record start)
 *  4      4   payload length, uint32 LE
 *  8      4   event count, uint32 LE
 * 12     16   batch id (random; the same batch has the same id in every aggregator's spool)
 * 28      4   CRC-32 of the payload
 * 32      4   CRC-32 of bytes 0..31 (so lengths and counts can be trusted for framing)
 * 36      1   state: 0 pending, 1 done (acknowledged in place after replay), 2 skipped (corrupt)
 * 37      3   zero
 * 40      n   payload: UTF-8 JSON {"e": PrivacyEvent[], "s": SketchUpdate[]}
 * ```
 */
import { crc32 } from 'node:zlib';
import type { Batch } from '../aggregators/aggregator.js';
import { validateEvent } from '../event.js';

export const RECORD_MAGIC = Buffer.from([0xff, 0x50, 0x4c, 0x31]);
export const HEADER_BYTES = 40;
export const STATE_OFFSET = 36;
export const STATE_PENDING = 0;
export const STATE_ACKED = 1;
export const STATE_SKIPPED = 2;
/** No single record may exceed this (a batch is far smaller). */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export interface RecordHeader {
  payloadLength: number;
  count: number;
  batchId: Buffer;
  payloadCrc: number;
  state: number;
}

/**
 * CPU time one slice of `encodeRecordSliced` may take before it yields the event loop
 * (ms). Small enough not to show in a request's latency, large enough that the spool
 * writer keeps up with a saturated event loop (≈ 60 events per slice on the development machine).
 */
export const ENCODE_SLICE_MS = 0.1;
/** Elements serialized between two looks at the clock. */
const CLOCK_EVERY = 8;

/** JSON of one array element, exactly as `JSON.stringify` writes it inside an array. */
function elementJson(x: unknown): string {
  return JSON.stringify(x) ?? 'null';
}

/** The header for a payload of `payloadLength` bytes with checksum `payloadCrc`. */
function encodeHeader(batchId: Buffer, count: number, payloadLength: number, payloadCrc: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES);
  RECORD_MAGIC.copy(out, 0);
  out.writeUInt32LE(payloadLength, 4);
  out.writeUInt32LE(count, 8);
  batchId.copy(out, 12, 0, 16);
  out.writeUInt32LE(payloadCrc >>> 0, 28);
  out.writeUInt32LE(crc32(out.subarray(0, 32)), 32);
  out.fill(0, 36, 40);
  return out;
}

/** The encoded record for a batch, in one buffer (dead-letter file, tests). */
export function encodeRecord(batchId: Buffer, batch: Batch): Buffer {
  const payload = Buffer.from(JSON.stringify({ e: batch.events, s: batch.sketches }), 'utf8');
  return Buffer.concat([encodeHeader(batchId, batch.events.length, payload.length, crc32(payload)), payload]);
}

/**
 * The same bytes as `encodeRecord`, produced in slices of at most `sliceMs` of CPU
 * time with `pause()` awaited between slices, so that a large batch never holds the
 * event loop for long. The checksum is computed incrementally. Returns the header
 * followed by the payload chunks (for `writev`). `sliceMs` 0 pauses after every
 * `clockEvery` elements (tests).
 */
export async function encodeRecordSliced(
  batchId: Buffer,
  batch: Batch,
  pause: () => Promise<void>,
  sliceMs = ENCODE_SLICE_MS,
  clockEvery = CLOCK_EVERY,
): Promise<{ chunks: Buffer[]; length: number }> {
  const chunks: Buffer[] = [];
  let crc = 0;
  let length = 0;
  let text = '';
  const add = () => {
    const b = Buffer.from(text, 'utf8');
    text = '';
    crc = crc32(b, crc);
    length += b.length;
    chunks.push(b);
  };
  let sliceStart = performance.now();
  const writeArray = async (open: string, xs: readonly unknown[], close: string) => {
    text += open;
    for (let i = 0; i < xs.length; i++) {
      text += (i > 0 ? ',' : '') + elementJson(xs[i]);
      if ((i + 1) % clockEvery === 0 && i + 1 < xs.length && performance.now() - sliceStart >= sliceMs) {
        add();
        await pause();
        sliceStart = performance.now();
      }
    }
    text += close;
  };
  await writeArray('{"e":[', batch.events, '],');
  await writeArray('"s":[', batch.sketches, ']}');
  add();
  const header = encodeHeader(batchId, batch.events.length, length, crc);
  return { chunks: [header, ...chunks], length: HEADER_BYTES + length };
}

/** True when the record magic starts at `pos`. */
export function isMagicAt(buf: Buffer, pos: number): boolean {
  return (
    buf[pos] === RECORD_MAGIC[0] &&
    buf[pos + 1] === RECORD_MAGIC[1] &&
    buf[pos + 2] === RECORD_MAGIC[2] &&
    buf[pos + 3] === RECORD_MAGIC[3]
  );
}

/** Parses and checks a header at `pos`; undefined when it is not a valid header. */
export function decodeHeader(buf: Buffer, pos: number): RecordHeader | undefined {
  if (pos + HEADER_BYTES > buf.length || !isMagicAt(buf, pos)) return undefined;
  if (crc32(buf.subarray(pos, pos + 32)) !== buf.readUInt32LE(pos + 32)) return undefined;
  const payloadLength = buf.readUInt32LE(pos + 4);
  if (payloadLength > MAX_PAYLOAD_BYTES) return undefined;
  return {
    payloadLength,
    count: buf.readUInt32LE(pos + 8),
    batchId: Buffer.from(buf.subarray(pos + 12, pos + 28)),
    payloadCrc: buf.readUInt32LE(pos + 28),
    state: buf[pos + STATE_OFFSET] as number,
  };
}

/** True when the payload matches the header's checksum. */
export function payloadIntact(header: RecordHeader, payload: Buffer): boolean {
  return payload.length === header.payloadLength && crc32(payload) === header.payloadCrc;
}

/**
 * Decodes a payload back into a batch, or undefined when it is not a
 * well-formed batch of `count` valid events (a spool file is outside data:
 * nothing half-formed is ever delivered from it).
 */
export function decodePayload(payload: Buffer, count: number): Batch | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { e, s } = parsed as { e?: unknown; s?: unknown };
  if (!Array.isArray(e) || !Array.isArray(s) || e.length !== count) return undefined;
  for (const ev of e) if (validateEvent(ev) !== undefined) return undefined;
  return { events: e, sketches: s };
}

/** A pending record found in a segment file. */
export interface ScannedRecord {
  offset: number;
  size: number;
  count: number;
  batchId: Buffer;
}

/**
 * Walks a segment file's bytes: the records still pending (checksums intact),
 * the offsets of pending records whose payload failed its checksum, and how
 * many corrupt stretches were passed over (resynchronising on the next record
 * magic; a torn tail or a non-zero trailer counts as one).
 *
 * @example
 * const { pending, skipped, bad } = scanRecords(readFileSync(segmentPath));
 */
export function scanRecords(buf: Buffer): { pending: ScannedRecord[]; skipped: number[]; bad: number } {
  const pending: ScannedRecord[] = [];
  const skipped: number[] = [];
  let pos = 0;
  let bad = 0;
  while (pos + HEADER_BYTES <= buf.length) {
    const h = decodeHeader(buf, pos);
    if (h === undefined) {
      // Not a record start: count one corrupt stretch and resynchronise on the next magic.
      bad++;
      const next = buf.indexOf(RECORD_MAGIC, pos + 1);
      if (next < 0) {
        pos = buf.length;
        break;
      }
      pos = next;
      continue;
    }
    const end = pos + HEADER_BYTES + h.payloadLength;
    if (end > buf.length) {
      bad++; // torn tail: the process died mid-append or the file was truncated
      pos = buf.length;
      break;
    }
    if (h.state === STATE_PENDING) {
      if (payloadIntact(h, buf.subarray(pos + HEADER_BYTES, end))) {
        pending.push({ offset: pos, size: end - pos, count: h.count, batchId: h.batchId });
      } else {
        bad++;
        skipped.push(pos);
      }
    }
    pos = end;
  }
  if (pos < buf.length && buf.subarray(pos).some((b) => b !== 0)) bad++;
  return { pending, skipped, bad };
}
