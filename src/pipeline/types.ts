/**
 * The pipeline contract (DESIGN §8): the request path only pushes; batching,
 * fan-out, retry, spool and replay happen off the request's turn.
 */
import type { Aggregator } from '../aggregators/aggregator.js';
import type { PrivacyEvent } from '../event.js';
import type { StatsSource } from '../stats/query.js';

/**
 * Client fields that enrichment fills in after capture (reverse DNS is async).
 * Resolved values only: never the address.
 */
export interface ClientEnrichment {
  isp?: string;
  asn?: number;
  domain?: string;
}

export interface PipelineMetrics {
  /** Events that passed validation at the door. */
  accepted: number;
  /** Events durably stored by every aggregator. */
  delivered: number;
  /** Batch deliveries that were retried. */
  retried: number;
  /** Events written to the spool (cumulative). */
  spooled: number;
  /** Events replayed from the spool (cumulative). */
  replayed: number;
  /** Events given up on (overflow with 'drop-newest', spool failure, non-retryable error). */
  dropped: number;
  /** Events rejected at the door by validation. */
  invalid: number;
  /** Events accepted and still in memory (queue or in-flight batch). */
  queued: number;
  /** Events in the spool not yet replayed. */
  spoolPending: number;
  /**
   * Events found in the spool at startup, accepted by a previous process; included in
   * `accepted`. Always set by createPipeline (optional only for compatibility).
   */
  recovered?: number;
  /** Per-aggregator counters; each one keeps the same invariant. */
  aggregators: Record<string, AggregatorMetrics>;
}

export interface AggregatorMetrics {
  delivered: number;
  retried: number;
  spooled: number;
  replayed: number;
  dropped: number;
  queued: number;
  spoolPending: number;
  failures: number;
  /*
   * The fields below are always set by createPipeline; optional only so that
   * other Pipeline implementations stay compatible.
   */
  /** Events this aggregator is accountable for: accepted = delivered + dropped + queued + spoolPending. */
  accepted?: number;
  /** Events found in this aggregator's spool at startup. */
  recovered?: number;
  /** Spool records skipped because they failed their checksum (cumulative). */
  corrupt?: number;
  /** Spool records evicted by the size cap (cumulative; their events are in `dropped`). */
  evicted?: number;
  /** Batches refused for good and kept in the dead-letter file (cumulative; their events are in `dropped`). */
  deadLettered?: number;
  /** Bytes of spool segment files on disk. */
  spoolBytes?: number;
}

export interface AggregatorHealth {
  name: string;
  ok: boolean;
  /** ISO time of the first failure in the current failing streak. */
  failingSince?: string;
  lastError?: { code?: string; message: string };
}

export interface PipelineHealth {
  ok: boolean;
  aggregators: AggregatorHealth[];
}

export interface Pipeline {
  /**
   * Accept an event. Never throws, never awaits, O(1). Returns false when the
   * event was rejected (invalid, or dropped by the overflow policy).
   *
   * @param visitor a visitor mark from the capture step (see stats/visitor-mark.ts):
   *   the HyperLogLog register index and rank of the visitor's salted hash.
   *   It feeds the batch's sketches and is never stored on the event.
   * @param enrichment pending client enrichment (reverse DNS); the batch waits for
   *   it at most the enrichment timeout, then delivers without it.
   */
  push(event: PrivacyEvent, visitor?: number, enrichment?: Promise<ClientEnrichment>): boolean;
  /** Resolve once everything accepted so far is delivered, spooled or counted as dropped. */
  flush(options?: { timeoutMs?: number }): Promise<void>;
  /** flush(), then close every aggregator. Idempotent; bounded by a timeout. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  metrics(): PipelineMetrics;
  health(): PipelineHealth;
  /** Fan a consent withdrawal out to every aggregator that supports it. */
  forget(sessionId: string): Promise<number>;
  /** The day's shared salt from the first aggregator that keeps salts, else `candidate`. */
  salt(day: string, candidate: string): Promise<string>;
  readonly aggregators: readonly Aggregator[];
  /** The first aggregator that answers stats queries, if any. */
  readonly stats: StatsSource | undefined;
}
