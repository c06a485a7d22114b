/**
 * One aggregator's disk spool: append-only segment files of checksummed records
 * (see spool-record.ts), fsync at most every `fsyncIntervalMs`, a size cap that
 * evicts the oldest segment first, in-place acknowledgement after replay, and a
 * dead-letter file for batches the aggregator refused for good.
 *
 * Steady-state appends never run on the caller's turn: `append` queues the batch for the
 * spool's writer, which serializes it a slice at a time (see `encodeRecordSliced`)
 * and writes it with asynchronous `writev`; segment rolls, fsyncs and the unlinks of
 * drained or evicted segments are asynchronous too. The writer performs its file
 * operations one after another, in queue order, so records land in the order they
 * were appended. A burst that a lane spills from memory at once is written
 * synchronously by `appendNow` while the writer is idle. Startup scans, replay reads, in-place acknowledgements and the
 * dead-letter file stay synchronous (short, and off the hot path). Nothing here
 * throws out of the pipeline; a failed append is reported to its callback, whose
 * owner counts the loss.
 */
import {
  close as closeCb,
  closeSync,
  fsync,
  fsyncSync,
  ftruncate,
  ftruncateSync,
  mkdirSync,
  open as openCb,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlink,
  writeSync,
  writev,
} from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../aggregators/aggregator.js';
import { ERROR_CODES, PrivacyLogError } from '../errors.js';
import type { ResolvedSpoolOptions } from './options.js';
import { lockSpoolDir } from './spool-lock.js';
import {
  decodeHeader,
  decodePayload,
  ENCODE_SLICE_MS,
  encodeRecord,
  encodeRecordSliced,
  HEADER_BYTES,
  payloadIntact,
  STATE_ACKED,
  STATE_OFFSET,
  STATE_SKIPPED,
  scanRecords,
} from './spool-record.js';
import type { Ticket } from './ticket.js';

const SEGMENT_RE = /^(\d{12})\.seg$/;
export const DEAD_LETTER_FILE = 'dead-letter.seg';
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

/** The outcome of an append: the record, or why it could not be written. */
export type AppendDone = (err: PrivacyLogError | undefined, ref: SpoolRef | undefined) => void;

interface AppendJob {
  batchId: Buffer;
  batch: Batch;
  done: AppendDone;
}

interface Encoded {
  job: AppendJob;
  chunks: Buffer[];
  length: number;
}

/** Backlog (events) per ENCODE_SLICE_MS of slice: 1 000 waiting → 0.1 ms, 5 000 → 0.5 ms. */
const SLICE_SCALE_EVENTS = 1000;
/** Appends the writer takes at once (one writev per segment for all of them). */
const GROUP_RECORDS = 8;

function fsP<T>(fn: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Writes every byte of `chunks` at `position`, continuing after short writes. */
async function writevFully(fd: number, chunks: Buffer[], position: number): Promise<void> {
  let rest = chunks;
  let pos = position;
  while (rest.length > 0) {
    const n = await fsP<number>((cb) => writev(fd, rest, pos, cb));
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
    pos += n;
    let skip = n;
    const left: Buffer[] = [];
    for (const c of rest) {
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      left.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
    rest = left;
  }
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
  private closing: Promise<void> | undefined;
  /** Appends waiting for the writer, oldest first. */
  private readonly jobs: AppendJob[] = [];
  /** Events queued for the writer or being written. */
  queuedEvents = 0;
  private writerBusy = false;
  /** A periodic fsync is due: the writer runs it before its next append. */
  private fsyncDue = false;
  private idleWaiters: Array<() => void> = [];
  /** File work in flight off the writer's path: unlinks, fsyncs, closes of sealed segments (close() waits for them). */
  private readonly background = new Set<Promise<void>>();
  /** The fsync of the active segment in flight, if any (one at a time). */
  private syncing: Promise<void> | undefined;
  /** Set when another pipeline or process owns the directory: nothing is written or replayed here. */
  private lockedBy: string | undefined;
  private releaseLock: (() => void) | undefined;

  /** Events queued for the writer beyond which it stops yielding between slices. */
  private readonly backlogEvents: number;

  /** `backlogEvents`: see `writeGroup` (the lane passes queue.maxEvents). */
  constructor(dir: string, options: ResolvedSpoolOptions, hooks: SpoolHooks, backlogEvents = 10_000) {
    this.dir = dir;
    this.options = options;
    this.hooks = hooks;
    this.backlogEvents = backlogEvents;
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
    const { pending, skipped, bad } = scanRecords(buf);
    for (const r of pending) seg.pending.push({ segment: seg, ...r, ticket: undefined, gone: false });
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

  /** Takes the directory's lock (spool-lock.ts), unless a live owner holds it. */
  private lock(): void {
    const lock = lockSpoolDir(this.dir);
    if (lock.heldBy !== undefined) this.lockedBy = lock.heldBy;
    else this.releaseLock = lock.release;
  }

  private unlock(): void {
    this.releaseLock?.();
    this.releaseLock = undefined;
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
    // Asynchronous: unlinking a full segment can take milliseconds. close() waits for it.
    const p = new Promise<void>((resolve) => {
      // gone already, or a read-only directory: nothing left to replay from it either way
      unlink(seg.path, () => resolve());
    });
    this.track(p);
  }

  private track(p: Promise<void>): void {
    this.background.add(p);
    void p.then(() => this.background.delete(p));
  }

  private markState(seg: Segment, offset: number, state: number): void {
    try {
      writeSync(this.segmentFd(seg), Buffer.from([state]), 0, 1, offset + STATE_OFFSET);
    } catch {
      // An unacknowledged record replays again after a restart: at-least-once, deduplicated downstream.
    }
  }

  private async openNewSegment(): Promise<Segment> {
    this.ensureDir();
    const seq = this.nextSeq++;
    const path = join(this.dir, `${String(seq).padStart(12, '0')}.seg`);
    const fd = await fsP<number>((cb) => openCb(path, 'w+', 0o600, cb));
    const seg: Segment = { seq, path, size: 0, pending: [], fd };
    // The directory entry reaches the disk in the background (best effort: not supported everywhere).
    this.track(
      new Promise<void>((resolve) => {
        openCb(this.dir, 'r', (err, dfd) => {
          if (err) return resolve();
          fsync(dfd, () => closeCb(dfd, () => resolve()));
        });
      }),
    );
    this.segments.push(seg);
    return seg;
  }

  /**
   * Queues one batch for the spool's writer and returns at once; `done` is called
   * once the record is written (with its ref; the spool's counters include it from
   * that moment) or could not be (a SPOOL_WRITE PrivacyLogError: read-only or full
   * disk, record over the size cap, spool locked or closed). `done` is never called
   * on the caller's turn.
   */
  append(batchId: Buffer, batch: Batch, done: AppendDone): void {
    this.jobs.push({ batchId, batch, done });
    this.queuedEvents += batch.events.length;
    if (!this.writerBusy) {
      this.writerBusy = true;
      setImmediate(() => void this.runWriter());
    }
  }

  /** `append` as a promise (tests and tools). */
  appendAsync(batchId: Buffer, batch: Batch): Promise<SpoolRef> {
    return new Promise((resolve, reject) => {
      this.append(batchId, batch, (err, ref) => (err ? reject(err) : resolve(ref as SpoolRef)));
    });
  }

  /** Resolves once the writer has nothing queued or in progress. */
  whenIdle(): Promise<void> {
    if (!this.writerBusy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async runWriter(): Promise<void> {
    for (;;) {
      if (this.fsyncDue) {
        this.fsyncDue = false;
        void this.fsyncActive(); // in the background: the next writes need not wait for it
      }
      if (this.jobs.length === 0) break;
      // Group commit: everything queued so far (up to GROUP_RECORDS) goes out in one writev
      // per segment and, with fsyncIntervalMs 0, one fsync.
      const group = this.jobs.splice(0, GROUP_RECORDS);
      await this.writeGroup(group);
    }
    this.writerBusy = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Calls an append's callback; the spool's own state is already updated. */
  private finish(job: AppendJob, err: PrivacyLogError | undefined, ref: SpoolRef | undefined): void {
    this.queuedEvents -= job.batch.events.length;
    try {
      job.done(err, ref);
    } catch (cause) {
      this.hooks.report(
        `spool-writer:${this.dir}`,
        new PrivacyLogError(ERROR_CODES.SPOOL_WRITE, `the spool writer's callback failed in ${this.dir}.`, {
          cause,
          retryable: false,
        }),
      );
    }
  }

  /**
   * Serializes a group of appends (a slice per turn while the backlog is small), then
   * writes them in order: one writev per segment, a roll when a segment is full. A
   * record counts (its ref and the spool's counters, then its callback, in one step)
   * only once it is written — and fsynced, with fsyncIntervalMs 0.
   */
  private async writeGroup(group: AppendJob[]): Promise<void> {
    const encoded: Encoded[] = [];
    for (const job of group) {
      try {
        this.checkWritable();
        // Slices grow with the backlog (a writer that falls behind takes more of each turn),
        // and past its bound the writer stops yielding: the process slows down, as a
        // synchronous spool would, instead of holding ever more batches in memory.
        const sliceMs =
          this.queuedEvents > this.backlogEvents
            ? Number.POSITIVE_INFINITY
            : ENCODE_SLICE_MS * Math.max(1, this.queuedEvents / SLICE_SCALE_EVENTS);
        const { chunks, length } = await encodeRecordSliced(job.batchId, job.batch, nextTurn, sliceMs);
        if (length > this.options.maxBytes) {
          throw new PrivacyLogError(
            ERROR_CODES.SPOOL_WRITE,
            `a batch of ${job.batch.events.length} events (${length} bytes) is larger than spool.maxBytes (${this.options.maxBytes}); raise spool.maxBytes or lower batch.maxEvents.`,
            { retryable: false },
          );
        }
        encoded.push({ job, chunks, length });
      } catch (err) {
        this.finish(job, err instanceof PrivacyLogError ? err : this.writeError('append to the spool', err), undefined);
      }
    }
    let run: Encoded[] = [];
    for (const rec of encoded) {
      try {
        this.checkWritable();
        const seg = this.active;
        const runBytes = run.reduce((s, r) => s + r.length, 0);
        if (
          seg !== undefined &&
          seg.size + runBytes > 0 &&
          seg.size + runBytes + rec.length > this.options.segmentBytes
        ) {
          await this.writeRun(run);
          run = [];
          await this.sealActive();
        }
        if (this.active === undefined) this.active = await this.openNewSegment();
      } catch (err) {
        // This record cannot be written; the records before it are still written below.
        this.finish(
          rec.job,
          err instanceof PrivacyLogError ? err : this.writeError('append to the spool', err),
          undefined,
        );
        continue;
      }
      run.push(rec);
    }
    await this.writeRun(run);
  }

  /** Writes consecutive records to the active segment in one writev, then counts them. */
  private async writeRun(run: Encoded[]): Promise<void> {
    const seg = this.active;
    if (run.length === 0) return;
    if (seg === undefined || seg.fd === undefined) {
      const err = this.writeError('append to the spool', Object.assign(new Error('no segment'), { code: 'EBADF' }));
      for (const rec of run) this.finish(rec.job, err, undefined);
      return;
    }
    const start = seg.size;
    try {
      await writevFully(
        seg.fd,
        run.flatMap((r) => r.chunks),
        start,
      );
    } catch (err) {
      // Cut off a partial write, and start the next append in a fresh segment.
      const fd = seg.fd;
      if (fd !== undefined) await new Promise<void>((r) => ftruncate(fd, start, () => r()));
      if (seg === this.active) await this.sealActive();
      const error = this.writeError('append to the spool', err);
      for (const rec of run) this.finish(rec.job, error, undefined);
      return;
    }
    let offset = start;
    for (const rec of run) offset += rec.length;
    seg.size = offset;
    this.dirty = true;
    // fsyncIntervalMs 0: records are on disk before they count as spooled.
    if (this.options.fsyncIntervalMs === 0) {
      await this.syncing;
      await this.fsyncActive();
    }
    offset = start;
    for (const rec of run) {
      const ref: SpoolRef = {
        segment: seg,
        offset,
        size: rec.length,
        count: rec.job.batch.events.length,
        batchId: rec.job.batchId,
        ticket: undefined,
        gone: false,
      };
      offset += rec.length;
      seg.pending.push(ref);
      this.bytes += rec.length;
      this.pendingEvents += ref.count;
      this.pendingRecords++;
      this.finish(rec.job, undefined, ref);
    }
    if (this.options.fsyncIntervalMs > 0) this.scheduleFsync();
    this.evictOverCap();
  }

  /**
   * Appends one batch on the caller's turn, the way a burst is best written: when a
   * lane spills the backlog it held in memory (switching to spooling, flush(),
   * close()), so that the backlog is on disk at once. Only while the writer is idle
   * (nothing queued, no file operation in flight); otherwise returns undefined and the
   * caller queues the batch with `append`. Throws a SPOOL_WRITE PrivacyLogError when
   * the record cannot be written; the caller counts the loss.
   */
  appendNow(batchId: Buffer, batch: Batch): SpoolRef | undefined {
    if (this.writerBusy || this.jobs.length > 0 || this.syncing !== undefined) return undefined;
    this.checkWritable();
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
        this.sealActiveNow();
        seg = undefined;
      }
      if (seg === undefined) {
        seg = this.openNewSegmentNow();
        this.active = seg;
      }
      writeFully(seg.fd as number, record, seg.size);
    } catch (err) {
      if (seg !== undefined) {
        // Cut off a partial write, and start the next append in a fresh segment.
        try {
          if (seg.fd !== undefined) ftruncateSync(seg.fd, seg.size);
        } catch {
          // the next scan skips a torn tail anyway
        }
        if (seg === this.active) this.sealActiveNow();
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
    this.dirty = true;
    if (this.options.fsyncIntervalMs === 0) {
      this.dirty = false;
      this.lastFsync = Date.now();
      try {
        fsyncSync(seg.fd as number);
      } catch (err) {
        this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
      }
    }
    seg.pending.push(ref);
    this.bytes += record.length;
    this.pendingEvents += ref.count;
    this.pendingRecords++;
    if (this.options.fsyncIntervalMs > 0) this.scheduleFsync();
    this.evictOverCap();
    return ref;
  }

  private openNewSegmentNow(): Segment {
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

  private sealActiveNow(): void {
    const seg = this.active;
    if (seg === undefined) return;
    this.active = undefined;
    if (seg.fd !== undefined && this.dirty) {
      this.dirty = false;
      this.lastFsync = Date.now();
      try {
        fsyncSync(seg.fd);
      } catch (err) {
        this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
      }
    }
    this.closeFd(seg);
    if (seg.pending.length === 0) this.dropSegment(seg);
  }

  private checkWritable(): void {
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
  }

  /**
   * Seals the active segment: a writer step, never concurrent with an append. Its fsync
   * (when dirty) and close run in the background — after any fsync still in flight on
   * the same descriptor — so the next write does not wait for a whole segment to reach
   * the disk.
   */
  private async sealActive(): Promise<void> {
    const seg = this.active;
    if (seg === undefined) return;
    this.active = undefined;
    // The background task owns this descriptor from here on; replay reads open their own.
    const fd = seg.fd;
    seg.fd = undefined;
    if (fd !== undefined) {
      const dirty = this.dirty;
      this.dirty = false;
      if (dirty) this.lastFsync = Date.now();
      const prior = this.syncing;
      this.syncing = undefined;
      this.track(
        (async () => {
          await prior;
          if (dirty) {
            try {
              await fsP<void>((cb) => fsync(fd, (err) => cb(err, undefined)));
            } catch (err) {
              this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
            }
          }
          await new Promise<void>((r) => closeCb(fd, () => r()));
        })(),
      );
    }
    if (seg.pending.length === 0) this.dropSegment(seg);
  }

  private scheduleFsync(): void {
    if (this.fsyncTimer !== undefined) return;
    const wait = Math.max(0, this.lastFsync + this.options.fsyncIntervalMs - Date.now());
    this.fsyncTimer = setTimeout(() => {
      this.fsyncTimer = undefined;
      // The writer runs it between appends, so no descriptor is used while another step closes it.
      this.fsyncDue = true;
      if (!this.writerBusy) {
        this.writerBusy = true;
        void this.runWriter();
      }
    }, wait);
    this.fsyncTimer.unref();
  }

  /**
   * Starts an fsync of the active segment when it has unsynced records, one at a time
   * (a request while one is in flight is retried by the timer); resolves when it is done.
   * Only the writer calls it, so the descriptor is not closed meanwhile (sealActive
   * waits for it).
   */
  private fsyncActive(): Promise<void> {
    const seg = this.active;
    if (!this.dirty || seg === undefined || seg.fd === undefined) return this.syncing ?? Promise.resolve();
    if (this.syncing !== undefined) {
      this.scheduleFsync();
      return this.syncing;
    }
    this.dirty = false;
    this.lastFsync = Date.now();
    const fd = seg.fd;
    const p = new Promise<void>((resolve) => {
      fsync(fd, (err) => {
        if (err) this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
        resolve();
      });
    });
    this.syncing = p;
    void p.then(() => {
      if (this.syncing === p) this.syncing = undefined;
    });
    this.track(p);
    return p;
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

  /**
   * Waits until the writer has written every queued append, then fsyncs and closes
   * every file and releases the lock. Pending records stay on disk for the next
   * start. Idempotent: every call returns the same promise; appends queued after it
   * resolves fail (`spool … is closed`).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    while (this.writerBusy || this.jobs.length > 0) await this.whenIdle();
    if (this.fsyncTimer !== undefined) clearTimeout(this.fsyncTimer);
    this.fsyncTimer = undefined;
    // fsyncs and closes of sealed segments in flight finish first (no descriptor is closed under them).
    await Promise.all([...this.background]);
    const active = this.active;
    if (this.dirty && active?.fd !== undefined) {
      this.dirty = false;
      try {
        fsyncSync(active.fd);
      } catch (err) {
        this.hooks.report(`spool-fsync:${this.dir}`, this.writeError('fsync the spool', err));
      }
    }
    this.active = undefined;
    for (const seg of [...this.segments]) {
      if (seg.pending.length === 0 && seg === active) this.dropSegment(seg);
      else this.closeFd(seg);
    }
    this.closed = true;
    await Promise.all([...this.background]);
    this.unlock();
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
