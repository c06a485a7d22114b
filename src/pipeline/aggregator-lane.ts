/**
 * One aggregator's delivery lane. Each aggregator gets every batch on its own
 * lane, so a slow or dead one never holds up the others or the request path.
 *
 * Two modes:
 * - direct: batches wait in memory (at most `queue.maxEvents` events) and are
 *   written one at a time, in order, with exponential backoff between attempts;
 * - spooling: after the retries of a batch are exhausted (or memory overflows
 *   under the 'spool' policy) every batch goes to disk, and a replay loop
 *   delivers the spool oldest first, backing off while the aggregator fails.
 *   Once the spool is empty the lane returns to direct mode.
 *
 * Spool appends are handed to the spool's asynchronous writer: a batch on its way
 * to disk still counts as held in memory by this lane (`memEvents`) until its
 * record is written, and only then as spooled, so the accounting identity holds
 * at every step without any file work on the turn that hands the batch over.
 */
import { join } from 'node:path';
import type { Aggregator, Batch } from '../aggregators/aggregator.js';
import { ERROR_CODES, isPrivacyLogError, isRetryable, PrivacyLogError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import type { ResolvedPipelineOptions } from './options.js';
import type { Reporter } from './report.js';
import { Spool, type SpoolRef } from './spool.js';
import { type Accounting, Ticket } from './ticket.js';
import type { AggregatorHealth, AggregatorMetrics } from './types.js';

/** A spool writer's backlog beyond this many times queue.maxEvents drops the newest batch. */
export const WRITER_BACKLOG_FACTOR = 4;

export interface LaneContext {
  acct: Accounting;
  options: ResolvedPipelineOptions;
  report: Reporter;
  /** Removes events of forgotten sessions before a write (consent withdrawal). */
  filter: (batch: Batch) => Batch;
}

function describe(err: unknown): { code?: string; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code =
    typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
      ? (err as { code: string }).code
      : undefined;
  return code === undefined ? { message } : { code, message };
}

export class AggregatorLane {
  readonly aggregator: Aggregator;
  readonly name: string;
  readonly spool: Spool | undefined;

  delivered = 0;
  retried = 0;
  spooled = 0;
  replayed = 0;
  dropped = 0;
  failures = 0;
  /** Events found in this lane's spool at startup. */
  recovered = 0;
  /** Events this lane holds in memory (pending, in flight, or on their way to the spool). */
  memEvents = 0;
  /** Events handed to the spool writer and not yet written. */
  writing = 0;

  private readonly ctx: LaneContext;
  private pending: Ticket[] = [];
  private inflight: Ticket | undefined;
  private attempt = 0;
  private token = 0;
  /** Aborts the direct write in flight (close() deadline). */
  private abort: AbortController | undefined;
  /** The record being replayed and its decoded batch, kept while its write is retried. */
  private replayCache: { ref: SpoolRef; batch: Batch } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private spooling = false;
  private replayBusy = false;
  private replayTimer: NodeJS.Timeout | undefined;
  private replayImmediate: NodeJS.Immediate | undefined;
  private replayAttempt = 0;
  private draining = 0;
  private stopped = false;
  private failingSince: number | undefined;
  private lastError: { code?: string; message: string } | undefined;

  constructor(aggregator: Aggregator, spoolName: string, ctx: LaneContext) {
    this.aggregator = aggregator;
    this.name = aggregator.name;
    this.ctx = ctx;
    const s = ctx.options.spool;
    this.spool =
      s === undefined
        ? undefined
        : new Spool(
            join(s.dir, spoolName),
            s,
            {
              onEvict: (ref) => this.onEvict(ref),
              report: ctx.report,
            },
            ctx.options.queueMaxEvents,
          );
  }

  /** Scans this lane's spool; pairs records with (shared) recovered tickets. */
  recover(tickets: Map<string, Ticket>): void {
    if (this.spool === undefined) return;
    const refs = this.spool.open();
    for (const ref of refs) {
      const key = ref.batchId.toString('hex');
      let t = tickets.get(key);
      if (t === undefined) {
        t = new Ticket(ref.batchId, ref.count, -1);
        tickets.set(key, t);
      }
      t.inSpool++;
      ref.ticket = t;
      this.recovered += ref.count;
    }
    if (refs.length > 0) {
      this.spooling = true;
      this.scheduleReplay(0);
    }
  }

  // ---- intake -------------------------------------------------------------

  /** A new batch for this lane (the ticket counts this lane in `inMemory`). */
  accept(t: Ticket): void {
    const o = this.ctx.options;
    if (this.stopped || this.spooling) {
      if (!this.stopped && this.writing > 0 && this.writing + t.count > WRITER_BACKLOG_FACTOR * o.queueMaxEvents) {
        // The disk does not keep up with the traffic (the writer already stops yielding past
        // queue.maxEvents, so only I/O can hold it up this long): memory stays bounded, the loss is counted.
        this.drop(
          t,
          `spool-behind:${this.name}`,
          new PrivacyLogError(
            ERROR_CODES.SPOOL_WRITE,
            `the spool writer of "${this.name}" is behind by more than ${WRITER_BACKLOG_FACTOR} × queue.maxEvents (${WRITER_BACKLOG_FACTOR * o.queueMaxEvents}) events; the newest batch of ${t.count} was dropped for it. The disk is too slow for the traffic: use a faster disk for spool.dir, or bring the aggregator back.`,
            { retryable: false, details: { aggregator: this.name, events: t.count } },
          ),
        );
        return;
      }
      this.toSpool(t);
      return;
    }
    if (this.memEvents > 0 && this.memEvents + t.count > o.queueMaxEvents) {
      if (o.overflow === 'spool' && this.spool !== undefined) {
        this.spillPending();
        this.toSpool(t, true);
        this.enterSpooling(0);
      } else {
        this.drop(
          t,
          `overflow:${this.name}`,
          new PrivacyLogError(
            ERROR_CODES.AGGREGATOR_FAILED,
            `aggregator "${this.name}" is behind by more than queue.maxEvents (${o.queueMaxEvents}) events; the newest batch of ${t.count} was dropped for it (overflow 'drop-newest'). Use overflow 'spool', raise queue.maxEvents, or fix the slow aggregator.`,
            { details: { aggregator: this.name, events: t.count } },
          ),
        );
      }
      return;
    }
    this.pending.push(t);
    this.memEvents += t.count;
    if (this.draining > 0) this.expedite();
    this.pump();
  }

  /**
   * Hands the batch to the spool's writer (or drops it when there is no spool). The
   * batch stays in this lane's memory until its record is written; then it counts as
   * spooled, or as dropped when the write failed.
   */
  private toSpool(t: Ticket, now = false): void {
    const spool = this.spool;
    if (spool === undefined || t.batch === undefined) {
      this.drop(
        t,
        `exhausted:${this.name}`,
        new PrivacyLogError(
          ERROR_CODES.AGGREGATOR_FAILED,
          `aggregator "${this.name}" could not store a batch of ${t.count} events and there is no spool; they were dropped. Configure spool to keep them.`,
          { cause: this.lastErrorCause, details: { aggregator: this.name, events: t.count } },
        ),
      );
      return;
    }
    if (now || this.ctx.options.spool?.fsyncIntervalMs === 0) {
      // A spill of what this lane held in memory: on disk at once, while the writer is idle.
      // fsyncIntervalMs 0 asks for every record on disk before it counts: written and
      // fsynced on this turn, the way the process slows down instead of holding batches.
      let ref: SpoolRef | undefined;
      try {
        ref = spool.appendNow(t.id, t.batch);
      } catch (err) {
        this.dropped += t.count;
        this.ctx.acct.memToFinal(t, true);
        this.ctx.report(
          `spool-write:${this.name}`,
          isPrivacyLogError(err)
            ? err
            : new PrivacyLogError(ERROR_CODES.SPOOL_WRITE, `spool for "${this.name}" failed; batch dropped.`, {
                cause: err,
                retryable: false,
              }),
        );
        return;
      }
      if (ref !== undefined) {
        ref.ticket = t;
        this.spooled += t.count;
        this.ctx.acct.memToSpool(t);
        return;
      }
    }
    this.memEvents += t.count;
    this.writing += t.count;
    spool.append(t.id, t.batch, (err, ref) => {
      this.memEvents -= t.count;
      this.writing -= t.count;
      const acct = this.ctx.acct;
      if (ref !== undefined) {
        ref.ticket = t;
        this.spooled += t.count;
        acct.memToSpool(t);
        // A replay loop waiting for this record (the spool looked empty) picks it up.
        if (this.spooling) this.scheduleReplay(0);
        return;
      }
      this.dropped += t.count;
      acct.memToFinal(t, true);
      this.ctx.report(
        `spool-write:${this.name}`,
        err ??
          new PrivacyLogError(ERROR_CODES.SPOOL_WRITE, `spool for "${this.name}" failed; batch dropped.`, {
            retryable: false,
          }),
      );
      if (this.spooling) this.scheduleReplay(0);
    });
  }

  private lastErrorCause: unknown;

  private drop(t: Ticket, key: string, err: PrivacyLogError): void {
    this.dropped += t.count;
    this.ctx.acct.memToFinal(t, true);
    this.ctx.report(key, err);
  }

  private spillPending(): void {
    const spill = this.pending;
    this.pending = [];
    for (const t of spill) {
      this.memEvents -= t.count;
      this.toSpool(t, true);
    }
  }

  private enterSpooling(delay: number): void {
    this.spooling = true;
    this.scheduleReplay(delay);
  }

  // ---- direct delivery ----------------------------------------------------

  private pump(): void {
    if (this.inflight !== undefined || this.spooling || this.stopped) return;
    const t = this.pending.shift();
    if (t === undefined) return;
    this.inflight = t;
    this.attempt = 0;
    this.tryInflight();
  }

  private tryInflight(): void {
    const t = this.inflight;
    if (t === undefined || t.batch === undefined) return;
    this.attempt++;
    const token = ++this.token;
    this.write(t.batch, true).then(
      () => this.onInflightDone(token, undefined, true),
      (err: unknown) => this.onInflightDone(token, err, false),
    );
  }

  private onInflightDone(token: number, err: unknown, ok: boolean): void {
    if (token !== this.token || this.inflight === undefined) return; // superseded (forced spill at close)
    const t = this.inflight;
    const o = this.ctx.options;
    if (ok) {
      this.inflight = undefined;
      this.memEvents -= t.count;
      this.delivered += t.count;
      this.markOk();
      this.ctx.acct.memToFinal(t, false);
      this.pump();
      return;
    }
    this.markFailing(err);
    if (!isRetryable(err)) {
      this.inflight = undefined;
      this.memEvents -= t.count;
      this.refuse(t.id, t.batch, t.count, err);
      this.dropped += t.count;
      this.ctx.acct.memToFinal(t, true);
      this.pump();
      return;
    }
    if (this.attempt >= o.retry.maxAttempts || this.draining > 0 || this.stopped) {
      // Every failure reaches onError: also the last attempt, and one made while closing.
      // Without a spool, exhaust() reports the drop itself.
      if (this.spool !== undefined) {
        this.ctx.report(
          `spooled:${this.name}`,
          this.failure(err, `a batch of ${t.count} events failed (attempt ${this.attempt}); spooled for replay`),
        );
      }
      this.exhaust();
      return;
    }
    this.retried++;
    this.ctx.acct.retried++;
    const delay = backoffDelay(this.attempt, o.retry);
    this.ctx.report(
      `retry:${this.name}`,
      this.failure(
        err,
        `a batch of ${t.count} events failed (attempt ${this.attempt} of ${o.retry.maxAttempts}); retrying in ${delay} ms`,
      ),
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.tryInflight();
    }, delay);
    this.retryTimer.unref();
  }

  /** The in-flight batch is given up from memory: spool it (and everything behind it), or drop it. */
  private exhaust(): void {
    const t = this.inflight;
    if (t === undefined) return;
    this.inflight = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.token++;
    this.memEvents -= t.count;
    if (this.spool !== undefined) {
      this.toSpool(t, true);
      this.spillPending();
      this.enterSpooling(backoffDelay(1, this.ctx.options.retry));
    } else {
      this.toSpool(t); // counts the drop and reports it
      this.pump();
    }
  }

  /** Non-retryable refusal: keep the batch in the dead-letter file when there is a spool, and report. */
  private refuse(id: Buffer, batch: Batch | undefined, count: number, err: unknown): void {
    const kept = this.spool !== undefined && batch !== undefined && this.spool.deadLetter(id, batch);
    this.ctx.report(
      `refused:${this.name}`,
      new PrivacyLogError(
        ERROR_CODES.AGGREGATOR_FAILED,
        `aggregator "${this.name}" refused a batch of ${count} events with an error a retry cannot fix; ${
          kept ? 'it was kept in the dead-letter file and' : 'it was'
        } counted as dropped. Fix the cause (the aggregator's error is this error's \`cause\`).`,
        { cause: err, retryable: false, details: { aggregator: this.name, events: count, deadLettered: kept } },
      ),
    );
  }

  // ---- replay ---------------------------------------------------------------

  private scheduleReplay(delay: number): void {
    if (this.replayTimer !== undefined || this.replayImmediate !== undefined || this.replayBusy || this.stopped) return;
    if (delay <= 0) {
      // Draining a healthy spool: next record on the next turn, without a timer's 1 ms floor.
      this.replayImmediate = setImmediate(() => {
        this.replayImmediate = undefined;
        this.replayStep();
      });
      this.replayImmediate.unref();
      return;
    }
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      this.replayStep();
    }, delay);
    this.replayTimer.unref();
  }

  private replayStep(): void {
    if (this.stopped || this.replayBusy || this.spool === undefined) return;
    const ref = this.spool.head();
    if (ref === undefined) {
      // Records still on their way to the spool are older than anything sent directly:
      // stay in spooling mode until they are written (their completion resumes replay).
      if (this.writing > 0) return;
      this.spooling = false;
      this.replayAttempt = 0;
      this.replayCache = undefined;
      this.pump();
      return;
    }
    // A retried record is read and checked once, not on every attempt.
    const cached = this.replayCache?.ref === ref ? this.replayCache.batch : undefined;
    const batch = cached ?? this.spool.read(ref);
    this.replayCache = batch === undefined ? undefined : { ref, batch };
    if (batch === undefined) {
      this.spool.ack(ref, true);
      this.settleSpool(ref, true);
      this.scheduleReplay(0);
      return;
    }
    this.replayBusy = true;
    this.write(batch).then(
      () => {
        this.replayBusy = false;
        if (this.stopped) return; // replays again on the next start (idempotent downstream)
        this.markOk();
        this.replayAttempt = 0;
        this.replayCache = undefined;
        if (!ref.gone) {
          this.spool?.ack(ref);
          this.replayed += ref.count;
          this.settleSpool(ref, false);
        }
        this.scheduleReplay(0);
      },
      (err: unknown) => {
        this.replayBusy = false;
        if (this.stopped) return;
        this.markFailing(err);
        if (!isRetryable(err)) {
          this.replayCache = undefined;
          if (!ref.gone) {
            this.refuse(ref.batchId, batch, ref.count, err);
            this.spool?.ack(ref, true);
            this.settleSpool(ref, true);
          }
          this.scheduleReplay(0);
          return;
        }
        this.replayAttempt++;
        this.retried++;
        this.ctx.acct.retried++;
        const delay = backoffDelay(this.replayAttempt, this.ctx.options.retry);
        this.ctx.report(
          `retry:${this.name}`,
          this.failure(
            err,
            `replaying its spool failed (${this.spool?.pendingEvents ?? 0} events waiting); retrying in ${delay} ms`,
          ),
        );
        this.scheduleReplay(delay);
      },
    );
  }

  /** A spooled record is finished: delivered, or dropped (corrupt, evicted, refused). */
  private settleSpool(ref: SpoolRef, dropped: boolean): void {
    if (dropped) this.dropped += ref.count;
    else this.delivered += ref.count;
    if (ref.ticket !== undefined) this.ctx.acct.spoolToFinal(ref.ticket, dropped);
  }

  private onEvict(ref: SpoolRef): void {
    this.settleSpool(ref, true);
    this.ctx.report(
      `evict:${this.name}`,
      new PrivacyLogError(
        ERROR_CODES.SPOOL_WRITE,
        `the spool of "${this.name}" reached spool.maxBytes; its oldest segment was evicted and ${ref.count} events in it were dropped. Raise spool.maxBytes or bring the aggregator back.`,
        { retryable: false, details: { aggregator: this.name, events: ref.count } },
      ),
    );
  }

  // ---- the write itself ---------------------------------------------------

  private write(batch: Batch, direct = false): Promise<void> {
    const ac = new AbortController();
    if (direct) this.abort = ac;
    const ms = this.ctx.options.retry.attemptTimeoutMs;
    const filtered = this.ctx.filter(batch);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ac.abort(
          new PrivacyLogError(
            ERROR_CODES.TIMEOUT,
            `aggregator "${this.name}" did not finish a write within retry.attemptTimeoutMs (${ms} ms); the attempt was aborted and will be retried.`,
            { details: { aggregator: this.name } },
          ),
        );
      }, ms);
      timer.unref();
      ac.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(ac.signal.reason);
        },
        { once: true },
      );
      let p: Promise<void>;
      try {
        p = Promise.resolve(this.aggregator.write(filtered, ac.signal));
      } catch (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      p.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  // ---- flush / close support -------------------------------------------------

  /** flush() is waiting: a failing lane spools now instead of sitting out its backoff. */
  beginDrain(): void {
    this.draining++;
    this.expedite();
  }

  endDrain(): void {
    this.draining = Math.max(0, this.draining - 1);
  }

  private expedite(): void {
    if (this.failingSince === undefined) return;
    if (this.inflight !== undefined && this.retryTimer !== undefined) {
      this.exhaust();
      return;
    }
    if (this.spool !== undefined && this.pending.length > 0 && this.inflight !== undefined) {
      this.spillPending();
      this.enterSpooling(backoffDelay(1, this.ctx.options.retry));
    }
  }

  /** close() ran out of time: abort the in-flight write and spool everything still in memory. */
  forceSpill(): void {
    const t = this.inflight;
    if (t !== undefined) {
      this.inflight = undefined;
      this.token++;
      if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.abort?.abort(new PrivacyLogError(ERROR_CODES.TIMEOUT, 'close() deadline: write aborted and spooled.'));
      this.memEvents -= t.count;
      this.toSpool(t, true);
    }
    this.spillPending();
  }

  /**
   * Stop timers and close the spool once its writer has written everything handed to
   * it; nothing is delivered after this.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.replayTimer !== undefined) clearTimeout(this.replayTimer);
    if (this.replayImmediate !== undefined) clearImmediate(this.replayImmediate);
    this.retryTimer = undefined;
    this.replayTimer = undefined;
    this.replayImmediate = undefined;
    this.replayCache = undefined;
    await this.spool?.close();
  }

  // ---- health and metrics -----------------------------------------------------

  private markFailing(err: unknown): void {
    this.failures++;
    if (this.failingSince === undefined) this.failingSince = Date.now();
    this.lastError = describe(err);
    this.lastErrorCause = err;
  }

  private markOk(): void {
    this.failingSince = undefined;
  }

  private failure(err: unknown, what: string): PrivacyLogError {
    return new PrivacyLogError(ERROR_CODES.AGGREGATOR_FAILED, `aggregator "${this.name}": ${what}.`, {
      cause: err,
      details: { aggregator: this.name },
    });
  }

  health(): AggregatorHealth {
    const h: AggregatorHealth = { name: this.name, ok: this.failingSince === undefined };
    if (this.failingSince !== undefined) h.failingSince = new Date(this.failingSince).toISOString();
    if (this.lastError !== undefined) h.lastError = this.lastError;
    return h;
  }

  metrics(): AggregatorMetrics {
    const acct = this.ctx.acct;
    return {
      accepted: acct.accepted - acct.recovered + this.recovered,
      recovered: this.recovered,
      delivered: this.delivered,
      retried: this.retried,
      spooled: this.spooled,
      replayed: this.replayed,
      dropped: this.dropped,
      queued: acct.door + this.memEvents,
      spoolPending: this.spool?.pendingEvents ?? 0,
      failures: this.failures,
      corrupt: this.spool?.corrupt ?? 0,
      evicted: this.spool?.evictedRecords ?? 0,
      deadLettered: this.spool?.deadLettered ?? 0,
      spoolBytes: this.spool?.bytes ?? 0,
    };
  }
}
