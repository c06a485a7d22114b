/**
 * One aggregator's disk spool: append-only segment files of checksummed records
 * (see spool-record.ts), fsync at most every `fsyncIntervalMs`, a size cap that
 * evicts the oldest segment first, in-place acknowledgement after replay, and a
 * dead-letter file for batches the aggregator refused for good.
 *
 * All file operations are synchronous and short (appends of one batch, reads of
 * one record); fsync is asynchronous and batched. Nothing here throws out of
 * the pipeline except `append`, whose caller counts the loss.
 */
import {
  closeSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Batch } from '../aggregators/aggregator.js';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import type { ResolvedSpoolOptions } from './options.js';
import {
  decodeHeader,
  decodePayload,
  encodeRecord,
  HEADER_BYTES,
  payloadIntact,
  RECORD_MAGIC,
  STATE_ACKED,
  STATE_OFFSET,
  STATE_PENDING,
  STATE_SKIPPED,
} from './spool-record.js';
import type { Ticket } from './ticket.js';

const SEGMENT_RE = /^(\d{12})\.seg$/;
export const DEAD_LETTER_FILE = 'dead-letter.seg';
/** Holds the owning process id while a spool directory is open. */
export const LOCK_FILE = 'LOCK';

/** Spool directories open in this process (a second pipeline on the same one would interleave appends). */
const openInProcess = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

interface Segment {
  seq: number;
  path: string;
  /** Bytes of well-formed content (the append position for the active segment). */
  size: number;
  /** Records not yet acknowledged, in file order. */
  pending: SpoolRef[];
  fd: number | undefined;
}

/** A pending record in the spool. */
export interface SpoolRef {
  readonly segment: Segment;
  readonly offset: number;
  /** Header + payload bytes. */
  readonly size: number;
  readonly count: number;
  readonly batchId: Buffer;
  /** The pipeline ticket this record belongs to (set by the owner). */
  ticket: Ticket | undefined;
  /** True once acknowledged or evicted. */
  gone: boolean;
}

export interface SpoolHooks {
  /** A pending record was evicted by the size cap: its events are lost. */
  onEvict(ref: SpoolRef): void;
  /** Report a failure (rate-limited by the caller). */
  report(key: string, err: PrivacyLogError): void;
}

function errCode(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? ((err as { code: string }).code as string)
    : 'unknown';
}

function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    done += n;
  }
}

function readFully(fd: number, buf: Buffer, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export class Spool {
  readonly dir: string;
  /** Records skipped because they failed their checksum or did not parse (cumulative). */
  corrupt = 0;
  /** Records evicted by the size cap (cumulative). */
  evictedRecords = 0;
  /** Batches written to the dead-letter file (cumulative). */
  deadLettered = 0;
  pendingEvents = 0;
  pendingRecords = 0;
  /** Bytes of segment files on disk. */
  bytes = 0;

  private readonly options: ResolvedSpoolOptions;
  private readonly hooks: SpoolHooks;
  private readonly segments: Segment[] = [];
  private active: Segment | undefined;
  private nextSeq = 1;
  private dirty = false;
  private fsyncTimer: NodeJS.Timeout | undefined;
  private lastFsync = 0;
  private dirReady = false;
  private closed = false;
  /** Set when another pipeline or process owns the directory: nothing is written or replayed here. */
  private lockedBy: string | undefined;
  private ownsLock = false;

  constructor(dir: string, options: ResolvedSpoolOptions, hooks: SpoolHooks) {
    this.dir = dir;
    this.options = options;
    this.hooks = hooks;
  }

  /**
   * Scans existing segments (a previous process's spool) and returns their pending
   * records, oldest first. Never throws: an unreadable directory is reported and
   * treated as empty.
   */
  open(): SpoolRef[] {
    const found: SpoolRef[] = [];
    let names: string[];
    try {
      this.ensureDir();
      this.lock();
      if (this.lockedBy !== undefined) {
        this.hooks.report(
          `spool-locked:${this.dir}`,
          new PrivacyLogError(
            ERROR_CODES.SPOOL_WRITE,
            `spool directory ${this.dir} is in use by ${this.lockedBy}; this pipeline runs without a spool for it (batches it cannot deliver are dropped and counted). Give each process its own spool.dir.`,
            { retryable: false, details: { dir: this.dir } },
          ),
        );
        return found;
      }
      names = readdirSync(this.dir);
    } catch (err) {
      this.hooks.report(`spool-open:${this.dir}`, this.writeError('open the spool directory', err));
      return found;
    }
    const segs = names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const seq of segs) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const seg = this.scanSegment(seq);
      if (seg === undefined) continue;
      if (seg.pending.length === 0) {
        this.removeSegmentFile(seg);
        continue;
      }
      this.segments.push(seg);
      this.bytes += seg.size;
      for (const r of seg.pending) found.push(r);
    }
    this.pendingRecords = found.length;
    this.pendingEvents = found.reduce((s, r) => s + r.count, 0);
    return found;
  }

  private scanSegment(seq: number): Segment | undefined {
    const path = join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
    let buf: Buffer;
    try {
      if (!statSync(path).isFile()) {
        throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
      }
      buf = readFileSync(path);
    } catch (err) {
      this.hooks.report(`spool-read:${this.dir}`, this.corruptError(`segment ${path} could not be read`, err));
      return undefined;
    }
    const seg: Segment = { seq, path, size: buf.length, pending: [], fd: undefined };
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
          seg.pending.push({
            segment: seg,
            offset: pos,
            size: end - pos,
            count: h.count,
            batchId: h.batchId,
            ticket: undefined,
            gone: false,
          });
        } else {
          bad++;
          skipped.push(pos);
        }
      }
      pos = end;
    }
    if (pos < buf.length && buf.subarray(pos).some((b) => b !== 0)) bad++;
    if (bad > 0) {
      this.corrupt += bad;
      this.hooks.report(
        `spool-corrupt:${this.dir}`,
        this.corruptError(
          `${bad} corrupt record(s) in spool segment ${path} were skipped; the other records replay`,
          undefined,
        ),
      );
    }
    // Mark checksum failures as skipped so a later restart does not count them again.
    for (const off of skipped) this.markState(seg, off, STATE_SKIPPED);
    return seg;
  }

  /** Takes the directory's lock file, unless a live owner holds it. */
  private lock(): void {
    const key = resolve(this.dir);
    if (openInProcess.has(key)) {
      this.lockedBy = 'another pipeline in this process';
      return;
    }
    const path = join(this.dir, LOCK_FILE);
    let owner: number | undefined;
    try {
      owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      owner = undefined;
    }
    if (owner !== undefined && Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
      this.lockedBy = `process ${owner}`;
      return;
    }
    // Absent, or left by a process that died (SIGKILL, crash): take it over.
    const fd = openSync(path, 'w', 0o600);
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    openInProcess.add(key);
    this.ownsLock = true;
  }

  private unlock(): void {
    if (!this.ownsLock) return;
    this.ownsLock = false;
    openInProcess.delete(resolve(this.dir));
    try {
      unlinkSync(join(this.dir, LOCK_FILE));
    } catch {
      // already gone
    }
  }

  private ensureDir(): void {
    if (this.dirReady) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.dirReady = true;
  }

  private segmentFd(seg: Segment): number {
    if (seg.fd === undefined) seg.fd = openSync(seg.path, 'r+');
    return seg.fd;
  }

  private closeFd(seg: Segment): void {
    if (seg.fd === undefined) return;
    try {
      closeSync(seg.fd);
    } catch {
      // already closed
    }
    seg.fd = undefined;
  }

  private removeSegmentFile(seg: Segment): void {
    this.closeFd(seg);
    try {
      unlinkSync(seg.path);
    } catch {
      // gone already, or a read-only directory: nothing left to replay from it either way
    }
  }

  private markState(seg: Segment, offset: number, state: number): void {
    try {
      writeSync(this.segmentFd(seg), Buffer.from([state]), 0, 1, offset + STATE_OFFSET);
    } catch {
      // An unacknowledged record replays again after a restart: at-least-once, deduplicated downstream.
    }
  }

  private openNewSegment(): Segment {
    this.ensureDir();
    const seq = this.nextSeq++;
    const path = join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
    const fd = openSync(path, 'w+', 0o600);
    const seg: Segment = { seq, path, size: 0, pending: [], fd };
    try {
      const dfd = openSync(this.dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      // directory fsync is best effort (not supported everywhere)
    }
    this.segments.push(seg);
    return seg;
  }

  /**
   * Appends one batch. Throws a SPOOL_WRITE PrivacyLogError when it cannot
   * (read-only or full disk, record over the size cap); the caller counts the loss.
   */
  append(batchId: Buffer, batch: Batch): SpoolRef {
    if (this.closed) {
      throw new PrivacyLogError(ERROR_CODES.SPOOL_WRITE, `spool ${this.dir} is closed.`, { retryable: false });
    }
    if (this.lockedBy !== undefined) {
      throw new PrivacyLogError(
        ERROR_CODES.SPOOL_WRITE,
        `spool directory ${this.dir} is in use by ${this.lockedBy}; the batch was dropped. Give each process its own spool.dir.`,
        { retryable: false, details: { dir: this.dir, errno: 'ELOCKED' } },
      );
    }
    const record = encodeRecord(batchId, batch);
    if (record.length > this.options.maxBytes) {
      throw new PrivacyLogError(
        ERROR_CODES.SPOOL_WRITE,
        `a batch of ${batch.events.length} events (${record.length} bytes) is larger than spool.maxBytes (${this.options.maxBytes}); raise spool.maxBytes or lower batch.maxEvents.`,
        { retryable: false },
      );
    }
    let seg = this.active;
    try {
      if (seg !== undefined && seg.size > 0 && seg.size + record.length > this.options.segmentBytes) {
        this.sealActive();
        seg = undefined;
      }
      if (seg === undefined) {
        seg = this.openNewSegment();
        this.active = seg;
      }
      writeFully(this.segmentFd(seg), record, seg.size);
    } catch (err) {
      if (seg !== undefined) {
        // Cut off a partial write, and start the next append in a fresh segment.
        try {
          if (seg.fd !== undefined) ftruncateSync(seg.fd, seg.size);
        } catch {
          // the next scan skips a torn tail anyway
        }
        if (seg === this.active) this.sealActive();
      }
      throw this.writeError('append to the spool', err);
    }
    const ref: SpoolRef = {
      segment: seg,
      offset: seg.size,
      size: record.length,
      count: batch.events.length,
      batchId,
      ticket: undefined,
      gone: false,
    };
    seg.size += record.length;
    seg.pending.push(ref);
    this.bytes += record.length;
    this.pendingEvents += ref.count;
    this.pendingRecords++;
    this.scheduleFsync();
    this.evictOverCap();
    return ref;
  }

  private sealActive(): void {
    const seg = this.active;
    if (seg === undefined) return;
    this.active = undefined;
    if (seg.fd !== undefined && this.dirty) {
      try {
        fsyncSync(seg.fd);
      } catch (err) {
        this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
      }
      this.dirty = false;
      this.lastFsync = Date.now();
    }
    this.closeFd(seg);
    if (seg.pending.length === 0) this.dropSegment(seg);
  }

  private scheduleFsync(): void {
    this.dirty = true;
    if (this.options.fsyncIntervalMs === 0) {
      this.fsyncNow(true);
      return;
    }
    if (this.fsyncTimer !== undefined) return;
    const wait = Math.max(0, this.lastFsync + this.options.fsyncIntervalMs - Date.now());
    this.fsyncTimer = setTimeout(() => {
      this.fsyncTimer = undefined;
      this.fsyncNow(false);
    }, wait);
    this.fsyncTimer.unref();
  }

  private fsyncNow(sync: boolean): void {
    const seg = this.active;
    if (!this.dirty || seg === undefined || seg.fd === undefined) return;
    this.dirty = false;
    this.lastFsync = Date.now();
    if (sync) {
      try {
        fsyncSync(seg.fd);
      } catch (err) {
        this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
      }
      return;
    }
    fsync(seg.fd, (err) => {
      if (err && err.code !== 'EBADF') {
        this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
      }
    });
  }

  private evictOverCap(): void {
    while (this.bytes > this.options.maxBytes && this.segments.length > 1) {
      const victim = this.segments[0] as Segment;
      if (victim === this.active) break;
      this.segments.shift();
      this.bytes -= victim.size;
      const lost = victim.pending;
      victim.pending = [];
      this.removeSegmentFile(victim);
      for (const ref of lost) {
        this.pendingEvents -= ref.count;
        this.pendingRecords--;
        this.evictedRecords++;
        ref.gone = true;
        this.hooks.onEvict(ref);
      }
    }
  }

  /** The oldest pending record, if any. */
  head(): SpoolRef | undefined {
    for (const seg of this.segments) {
      const r = seg.pending[0];
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /**
   * Reads a pending record back into a batch, or undefined when it is corrupt
   * (counted in `corrupt`; the caller acknowledges it as skipped).
   */
  read(ref: SpoolRef): Batch | undefined {
    const buf = Buffer.allocUnsafe(ref.size);
    let n: number;
    try {
      n = readFully(this.segmentFd(ref.segment), buf, ref.offset);
    } catch (err) {
      this.corrupt++;
      this.hooks.report(`spool-read:${this.dir}`, this.corruptError('a spool record could not be read', err));
      return undefined;
    }
    const h = n === ref.size ? decodeHeader(buf, 0) : undefined;
    const payload = buf.subarray(HEADER_BYTES);
    const batch =
      h !== undefined && h.count === ref.count && payloadIntact(h, payload)
        ? decodePayload(payload, h.count)
        : undefined;
    if (batch === undefined) {
      this.corrupt++;
      this.hooks.report(
        `spool-corrupt:${this.dir}`,
        this.corruptError(
          `a spool record of ${ref.count} events in ${ref.segment.path} failed its checksum and was skipped; the rest replays`,
          undefined,
        ),
      );
    }
    return batch;
  }

  /** Marks a record done (`skipped` for corrupt ones) and forgets it; a drained segment file is deleted. */
  ack(ref: SpoolRef, skipped = false): void {
    const seg = ref.segment;
    const i = seg.pending.indexOf(ref);
    if (i < 0) return;
    ref.gone = true;
    seg.pending.splice(i, 1);
    this.pendingEvents -= ref.count;
    this.pendingRecords--;
    if (seg.pending.length === 0 && seg !== this.active) {
      this.dropSegment(seg);
      return;
    }
    this.markState(seg, ref.offset, skipped ? STATE_SKIPPED : STATE_ACKED);
  }

  private dropSegment(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i >= 0) {
      this.segments.splice(i, 1);
      this.bytes -= seg.size;
    }
    this.removeSegmentFile(seg);
  }

  /**
   * Keeps a batch an aggregator refused for good (a non-retryable error) in
   * `dead-letter.seg`, same record format, never replayed automatically; capped at
   * a quarter of maxBytes. Returns false when it could not be kept.
   */
  deadLetter(batchId: Buffer, batch: Batch): boolean {
    const path = join(this.dir, DEAD_LETTER_FILE);
    try {
      this.ensureDir();
      const record = encodeRecord(batchId, batch);
      let size = 0;
      try {
        size = statSync(path).size;
      } catch {
        size = 0;
      }
      if (size + record.length > Math.floor(this.options.maxBytes / 4)) return false;
      const fd = openSync(path, 'a', 0o600);
      try {
        writeFully(fd, record, size);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.deadLettered++;
      return true;
    } catch (err) {
      this.hooks.report(`spool-dead-letter:${this.dir}`, this.writeError('write the dead-letter file', err));
      return false;
    }
  }

  /** fsync and close every file. Pending records stay on disk for the next start. */
  close(): void {
    if (this.closed) return;
    if (this.fsyncTimer !== undefined) clearTimeout(this.fsyncTimer);
    this.fsyncTimer = undefined;
    if (this.dirty) this.fsyncNow(true);
    const active = this.active;
    this.active = undefined;
    for (const seg of [...this.segments]) {
      if (seg.pending.length === 0 && seg === active) this.dropSegment(seg);
      else this.closeFd(seg);
    }
    this.unlock();
    this.closed = true;
  }

  private writeError(what: string, cause: unknown): PrivacyLogError {
    return new PrivacyLogError(
      ERROR_CODES.SPOOL_WRITE,
      `could not ${what} in ${this.dir} (${errCode(cause)}): check that the directory is writable and the disk has room; batches that cannot be spooled are counted as dropped.`,
      { cause, retryable: false, details: { dir: this.dir, errno: errCode(cause) } },
    );
  }

  private corruptError(message: string, cause: unknown): PrivacyLogError {
    return new PrivacyLogError(ERROR_CODES.SPOOL_CORRUPT, message, {
      cause,
      retryable: false,
      details: { dir: this.dir },
    });
  }
}
