/**
 * `createPipeline()` (DESIGN §8): the request path only pushes; batching,
 * enrichment, sketches, fan-out, retry, spool and replay happen off its turn.
 */
import { randomFillSync } from 'node:crypto';
import type { Aggregator, Batch } from '../aggregators/aggregator.js';
import { ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import { type PrivacyEvent, validateEvent } from '../event.js';
import type { StatsSource } from '../stats/query.js';
import { AggregatorLane } from './aggregator-lane.js';
import { applyEnrichments } from './enrichment.js';
import {
  firstStatsSource,
  type PipelineOptions,
  type ResolvedPipelineOptions,
  resolvePipelineOptions,
} from './options.js';
import { createReporter, type Reporter } from './report.js';
import { buildSketchUpdates, NO_MARK } from './sketches.js';
import { Accounting, Ticket } from './ticket.js';
import type { ClientEnrichment, Pipeline, PipelineHealth, PipelineMetrics } from './types.js';

/** Sessions remembered after `forget()`, so their queued or spooled events are never written. */
export const FORGOTTEN_SESSIONS_MAX = 100_000;
/** close() spends this share of its timeout flushing; the rest spools leftovers and closes aggregators. */
const CLOSE_FLUSH_SHARE = 0.8;

function newBatchId(): Buffer {
  return randomFillSync(Buffer.allocUnsafe(16));
}

function timeoutOf(value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidOption(where, 'timeoutMs', 'a number of milliseconds ≥ 0');
  }
  return value;
}

class PrivacyPipeline implements Pipeline {
  readonly aggregators: readonly Aggregator[];
  readonly stats: StatsSource | undefined;

  private readonly o: ResolvedPipelineOptions;
  private readonly acct = new Accounting();
  private readonly lanes: AggregatorLane[];
  private readonly report: Reporter;
  private readonly forgotten = new Set<string>();

  // The open batch: parallel arrays (the visitor mark never goes on the event).
  private events: PrivacyEvent[] = [];
  private marks: number[] = [];
  private enrich: Array<Promise<ClientEnrichment> | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  private closed = false;
  private closing: Promise<void> | undefined;
  /** Aborted when close() runs out of time: batches stop waiting for enrichment. */
  private readonly forced = new AbortController();

  constructor(o: ResolvedPipelineOptions) {
    this.o = o;
    this.aggregators = Object.freeze([...o.aggregators]);
    this.stats = firstStatsSource(o.aggregators);
    this.report = createReporter(o.onError);
    const filter = (batch: Batch) => this.filterForgotten(batch);
    this.lanes = o.aggregators.map(
      (a, i) =>
        new AggregatorLane(a, o.spoolNames[i] as string, {
          acct: this.acct,
          options: o,
          report: this.report,
          filter,
        }),
    );
    // A restart resumes where the previous process stopped: spooled batches count as accepted again.
    const recovered = new Map<string, Ticket>();
    for (const lane of this.lanes) lane.recover(recovered);
    for (const t of recovered.values()) this.acct.recover(t);
  }

  // ---- the request path ---------------------------------------------------

  push(event: PrivacyEvent, visitor?: number, enrichment?: Promise<ClientEnrichment>): boolean {
    try {
      const acct = this.acct;
      if (this.closed) {
        this.dropAtDoor(
          'closed',
          new PrivacyLogError(
            ERROR_CODES.CLOSED,
            'an event was pushed after the pipeline was closed; it was counted as dropped. Stop pushing before close(), or create a new pipeline.',
            { retryable: false },
          ),
        );
        return false;
      }
      if (this.o.validate) {
        const reason = validateEvent(event);
        if (reason !== undefined) {
          acct.invalid++;
          this.report(
            'invalid',
            new PrivacyLogError(
              ERROR_CODES.INVALID_EVENT,
              `an event was rejected at the pipeline's door: ${reason}. Fix the producer of the event.`,
              { retryable: false },
            ),
          );
          return false;
        }
      }
      if (acct.door >= this.o.queueMaxEvents) {
        this.dropAtDoor(
          'queue-full',
          new PrivacyLogError(
            ERROR_CODES.AGGREGATOR_FAILED,
            `the pipeline's queue is full (queue.maxEvents = ${this.o.queueMaxEvents} events waiting to be batched); the newest event was dropped. The process cannot keep up: raise queue.maxEvents or lower the load.`,
          ),
        );
        return false;
      }
      acct.accepted++;
      acct.door++;
      const n = this.events.push(event);
      this.marks.push(typeof visitor === 'number' ? visitor : NO_MARK);
      if (enrichment !== undefined) {
        if (this.enrich === undefined) this.enrich = [];
        this.enrich[n - 1] = enrichment;
      }
      if (n >= this.o.batchMaxEvents) this.cut(true);
      else if (n === 1) this.arm();
      return true;
    } catch (err) {
      this.report(
        'push',
        new PrivacyLogError(
          ERROR_CODES.INVALID_EVENT,
          'push() failed on an unexpected value; the event was rejected.',
          {
            cause: err,
            retryable: false,
          },
        ),
      );
      return false;
    }
  }

  /** Accepted-and-dropped at the door: every lane counts it dropped too, so every invariant holds. */
  private dropAtDoor(key: string, err: PrivacyLogError): void {
    this.acct.accepted++;
    this.acct.dropped++;
    for (const lane of this.lanes) lane.dropped++;
    this.report(key, err);
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cut(false);
    }, this.o.batchMaxWaitMs);
    this.timer.unref();
  }

  /** Cut the open batch: O(1) on the request path, the preparation runs on a later turn. */
  private cut(deferred: boolean): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const events = this.events;
    if (events.length === 0) return;
    const marks = this.marks;
    const enrich = this.enrich;
    this.events = [];
    this.marks = [];
    this.enrich = undefined;
    const t = new Ticket(newBatchId(), events.length, this.seq++);
    this.acct.live.add(t);
    if (deferred) setImmediate(() => void this.prepare(t, events, marks, enrich));
    else void this.prepare(t, events, marks, enrich);
  }

  private async prepare(
    t: Ticket,
    events: PrivacyEvent[],
    marks: number[],
    enrich: Array<Promise<ClientEnrichment> | undefined> | undefined,
  ): Promise<void> {
    let ready = events;
    try {
      if (enrich !== undefined)
        ready = await applyEnrichments(events, enrich, this.o.enrichTimeoutMs, this.forced.signal);
    } catch {
      ready = events; // enrichment is best effort; never lose the batch over it
    }
    // Sketches are built when a lane first takes the batch (Ticket.buildLater), not while it waits in a backlog.
    t.buildLater(() => {
      let sketches: Batch['sketches'] = [];
      try {
        sketches = buildSketchUpdates(ready, marks);
      } catch (err) {
        this.report(
          'sketches',
          new PrivacyLogError(
            ERROR_CODES.AGGREGATOR_FAILED,
            'building visitor sketches failed; the batch goes without them.',
            {
              cause: err,
            },
          ),
        );
      }
      return { events: ready, sketches };
    });
    this.acct.handOver(t, this.lanes.length);
    for (const lane of this.lanes) lane.accept(t);
  }

  private filterForgotten(batch: Batch): Batch {
    if (this.forgotten.size === 0) return batch;
    const kept = batch.events.filter((e) => e.session === undefined || !this.forgotten.has(e.session.id));
    return kept.length === batch.events.length ? batch : { events: kept, sketches: batch.sketches };
  }

  // ---- flush and close ------------------------------------------------------

  flush(options?: { timeoutMs?: number }): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = timeoutOf(options?.timeoutMs, this.o.flushMs, 'flush()');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.flushWithin(timeoutMs);
  }

  private flushWithin(timeoutMs: number): Promise<void> {
    this.cut(false);
    const target = this.seq - 1;
    if (this.acct.oldestLiveSeq() > target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe: (() => void) | undefined;
      const draining: AggregatorLane[] = [];
      const finish = (err?: PrivacyLogError) => {
        if (done) return;
        done = true;
        if (timer !== undefined) clearTimeout(timer);
        unsubscribe?.();
        for (const lane of draining.splice(0)) lane.endDrain();
        if (err) reject(err);
        else resolve();
      };
      timer = setTimeout(() => {
        const slow = this.lanes
          .filter((l) => l.memEvents > 0)
          .map((l) => `"${l.name}"`)
          .join(', ');
        finish(
          new PrivacyLogError(
            ERROR_CODES.TIMEOUT,
            `flush() did not finish within ${timeoutMs} ms: ${this.acct.queued} events are still in memory${
              slow ? ` (waiting on ${slow})` : ''
            }. They are not lost; call flush() again or close() to spool them.`,
            { details: { queued: this.acct.queued, timeoutMs } },
          ),
        );
      }, timeoutMs);
      unsubscribe = this.acct.onSettled(() => {
        if (this.acct.oldestLiveSeq() > target) finish();
      });
      // Draining may settle tickets synchronously: subscribe first, then check again.
      for (const lane of this.lanes) {
        if (done) break;
        draining.push(lane);
        lane.beginDrain();
      }
      if (this.acct.oldestLiveSeq() > target) finish();
    });
  }

  close(options?: { timeoutMs?: number }): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    let timeoutMs: number;
    try {
      timeoutMs = timeoutOf(options?.timeoutMs, this.o.closeMs, 'close()');
    } catch (err) {
      return Promise.reject(err);
    }
    this.closed = true;
    this.closing = this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let forced = false;
    try {
      await this.flushWithin(Math.max(1, Math.floor(timeoutMs * CLOSE_FLUSH_SHARE)));
    } catch {
      forced = true;
    }
    const droppedBefore = this.acct.dropped;
    const queuedBefore = this.acct.queued;
    if (forced) {
      // Stop waiting for enrichment, let the last batches reach their lanes, then spool what is left.
      this.forced.abort();
      for (let i = 0; i < 10 && this.hasPreparing(); i++) await new Promise((r) => setImmediate(r));
      for (const lane of this.lanes) lane.forceSpill();
    }
    // Each spool's writer finishes what it was handed (forceSpill included) before it closes.
    await Promise.all(this.lanes.map((lane) => lane.stop()));
    const lost = this.acct.dropped - droppedBefore + (this.hasPreparing() ? this.acct.door : 0);

    const closers = this.aggregators.map(async (a) => {
      if (typeof a.close === 'function') await a.close();
    });
    const remaining = Math.max(1, deadline - Date.now());
    let closeTimer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.allSettled(closers).then((results) => {
        results.forEach((r, i) => {
          if (r.status === 'rejected') {
            this.report(
              `close:${i}`,
              new PrivacyLogError(
                ERROR_CODES.AGGREGATOR_FAILED,
                `aggregator "${this.aggregators[i]?.name}" failed to close.`,
                { cause: r.reason },
              ),
            );
          }
        });
        return false;
      }),
      new Promise<boolean>((resolve) => {
        closeTimer = setTimeout(() => resolve(true), remaining);
        closeTimer.unref();
      }),
    ]);
    if (closeTimer !== undefined) clearTimeout(closeTimer);

    if (forced && lost === 0 && !timedOut) {
      this.report(
        'close-forced',
        new PrivacyLogError(
          ERROR_CODES.TIMEOUT,
          `close() reached its deadline (${timeoutMs} ms) before every aggregator had stored everything; ${queuedBefore} events were spooled instead and replay on the next start.`,
          { details: { spooled: queuedBefore } },
        ),
      );
    }
    if (lost > 0 || timedOut) {
      throw new PrivacyLogError(
        ERROR_CODES.TIMEOUT,
        `close() did not finish within ${timeoutMs} ms: ${
          lost > 0 ? `${lost} events could not be spooled and were counted as dropped` : ''
        }${lost > 0 && timedOut ? '; ' : ''}${timedOut ? 'an aggregator did not close in time' : ''}.`,
        { details: { lost, aggregatorCloseTimedOut: timedOut } },
      );
    }
  }

  private hasPreparing(): boolean {
    for (const t of this.acct.live) if (t.preparing) return true;
    return false;
  }

  // ---- observability ----------------------------------------------------------

  metrics(): PipelineMetrics {
    const a = this.acct;
    const aggregators: PipelineMetrics['aggregators'] = {};
    for (const lane of this.lanes) aggregators[lane.name] = lane.metrics();
    return {
      accepted: a.accepted,
      delivered: a.delivered,
      retried: a.retried,
      spooled: a.spooled,
      replayed: a.replayed,
      dropped: a.dropped,
      invalid: a.invalid,
      queued: a.queued,
      spoolPending: a.spoolPending,
      recovered: a.recovered,
      aggregators,
    };
  }

  health(): PipelineHealth {
    const aggregators = this.lanes.map((l) => l.health());
    return { ok: aggregators.every((h) => h.ok), aggregators };
  }

  // ---- consent and salts --------------------------------------------------------

  async forget(sessionId: string): Promise<number> {
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
      throw invalidOption('pipeline.forget()', 'sessionId', 'a non-empty session id');
    }
    // Events of this session still queued or spooled are filtered out before any later write.
    this.forgotten.delete(sessionId);
    this.forgotten.add(sessionId);
    if (this.forgotten.size > FORGOTTEN_SESSIONS_MAX) {
      const oldest = this.forgotten.values().next().value;
      if (oldest !== undefined) this.forgotten.delete(oldest);
    }
    const targets = this.aggregators.filter((a) => typeof a.forget === 'function');
    const results = await Promise.allSettled(
      targets.map((a) => (a.forget as (id: string) => Promise<number>)(sessionId)),
    );
    let erased = 0;
    const failed: string[] = [];
    let cause: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') erased += typeof r.value === 'number' ? r.value : 0;
      else {
        failed.push(targets[i]?.name ?? '?');
        cause ??= r.reason;
      }
    });
    if (failed.length > 0) {
      throw new PrivacyLogError(
        ERROR_CODES.AGGREGATOR_FAILED,
        `forget() failed on ${failed.map((n) => `"${n}"`).join(', ')} (${erased} events erased elsewhere); retry the withdrawal.`,
        { cause, details: { erased, failed } },
      );
    }
    return erased;
  }

  async salt(day: string, candidate: string): Promise<string> {
    const keeper = this.aggregators.find((a) => typeof a.salt === 'function');
    if (keeper === undefined || keeper.salt === undefined) return candidate;
    try {
      return await keeper.salt(day, candidate);
    } catch (err) {
      this.report(
        'salt',
        new PrivacyLogError(
          ERROR_CODES.AGGREGATOR_FAILED,
          `aggregator "${keeper.name}" could not share the day's salt; this server uses its own for now, so visitors seen by several servers may be counted more than once.`,
          { cause: err },
        ),
      );
      return candidate;
    }
  }
}

/**
 * Creates the delivery pipeline: a bounded queue, batches cut by size and by
 * time, fan-out to every aggregator with retry and backoff, a disk spool per
 * aggregator with replay, bounded `flush()`/`close()`, metrics and health.
 * A restart with the same spool directory resumes delivering what the previous
 * process had spooled.
 *
 * @example
 * const pipeline = createPipeline({
 *   aggregators: [memoryAggregator()],
 *   batch: { maxEvents: 500, maxWaitMs: 1000 },
 *   spool: { dir: './data/spool' },
 * });
 * pipeline.push(event);            // never throws, never awaits
 * await pipeline.close();          // flush, then close the aggregators
 */
export function createPipeline(options?: PipelineOptions): Pipeline {
  return new PrivacyPipeline(resolvePipelineOptions(options));
}
