/**
 * Pipeline-wide accounting (DESIGN §8). A ticket follows one batch through every
 * aggregator's lane; the top-level counters follow the tickets, so that at all times
 *
 *   accepted = delivered + dropped + queued + spoolPending
 *
 * An event is `queued` while it waits at the door or while any aggregator still holds
 * its batch in memory; then `spoolPending` while any aggregator's spool still holds it;
 * then `delivered` if every aggregator stored it, else `dropped` (some aggregator gave
 * it up). Each lane keeps the same identity with its own counters.
 */
import type { Batch } from '../aggregators/aggregator.js';

export class Ticket {
  /** Random 16 bytes: the same batch carries the same id in every spool. */
  readonly id: Buffer;
  readonly count: number;
  /** Cut order; flush() waits for every ticket cut before it. */
  readonly seq: number;
  private held: Batch | undefined;
  private build: (() => Batch) | undefined;
  /** Lanes holding the batch in memory (pending, in flight or retrying). */
  inMemory = 0;
  /** Lanes holding the batch in their spool. */
  inSpool = 0;
  /** True once any lane gave it up. */
  dropped = false;
  /** True once any lane spooled it (top-level `spooled` counts each batch once). */
  everSpooled = false;
  /** Still at the door (enrichment and sketches being prepared). */
  preparing = true;

  constructor(id: Buffer, count: number, seq: number) {
    this.id = id;
    this.count = count;
    this.seq = seq;
  }

  /**
   * The batch, while some lane still needs it in memory. One given to
   * {@link buildLater} is built on the first read: when a lane writes or
   * spools it, not while it waits behind others.
   */
  get batch(): Batch | undefined {
    const build = this.build;
    if (build !== undefined) {
      this.build = undefined;
      this.held = build();
    }
    return this.held;
  }

  set batch(b: Batch | undefined) {
    this.build = undefined;
    this.held = b;
  }

  /**
   * The batch is `build()`'s, made when first read. A backlog then holds
   * events and their numeric marks (8 bytes each), not sketch updates (≈ 180
   * bytes an event) that would outlive young-generation collections and be
   * copied and promoted by them. `build` must not throw.
   */
  buildLater(build: () => Batch): void {
    this.held = undefined;
    this.build = build;
  }
}

export class Accounting {
  accepted = 0;
  /** Events found in the spool at startup (a previous process accepted them). Included in `accepted`. */
  recovered = 0;
  invalid = 0;
  delivered = 0;
  dropped = 0;
  spooled = 0;
  replayed = 0;
  retried = 0;
  /** Events waiting at the door: in the open batch or being prepared. */
  door = 0;
  /** Events of handed-over tickets some lane still holds in memory. */
  inMemory = 0;
  spoolPending = 0;
  /** Tickets at the door or in memory, in cut order (a Set keeps insertion order). */
  readonly live = new Set<Ticket>();
  private readonly settledListeners = new Set<() => void>();

  get queued(): number {
    return this.door + this.inMemory;
  }

  /** The lowest seq of a ticket still in memory, or Infinity. */
  oldestLiveSeq(): number {
    for (const t of this.live) return t.seq;
    return Number.POSITIVE_INFINITY;
  }

  onSettled(listener: () => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.settledListeners) l();
  }

  /** A batch left the door: it is now held in memory by `lanes` lanes. */
  handOver(t: Ticket, lanes: number): void {
    t.preparing = false;
    this.door -= t.count;
    if (lanes === 0) {
      this.live.delete(t);
      t.batch = undefined;
      this.delivered += t.count;
      this.notify();
      return;
    }
    t.inMemory = lanes;
    this.inMemory += t.count;
  }

  /** One lane moved the batch from memory to its spool. */
  memToSpool(t: Ticket): void {
    if (!t.everSpooled) {
      t.everSpooled = true;
      this.spooled += t.count;
    }
    t.inSpool++;
    this.leaveMemory(t);
  }

  /** One lane delivered (or dropped) the batch straight from memory. */
  memToFinal(t: Ticket, dropped: boolean): void {
    if (dropped) t.dropped = true;
    this.leaveMemory(t);
  }

  /** One lane delivered (or dropped: corrupt, evicted, dead-lettered) the batch from its spool. */
  spoolToFinal(t: Ticket, dropped: boolean): void {
    if (dropped) t.dropped = true;
    t.inSpool--;
    if (t.inSpool === 0 && t.inMemory === 0) {
      this.spoolPending -= t.count;
      if (!t.dropped) this.replayed += t.count;
      this.finalize(t);
    }
  }

  /** A ticket found in the spools at startup. */
  recover(t: Ticket): void {
    t.preparing = false;
    t.everSpooled = true;
    this.accepted += t.count;
    this.recovered += t.count;
    this.spoolPending += t.count;
  }

  private leaveMemory(t: Ticket): void {
    t.inMemory--;
    if (t.inMemory > 0) return;
    this.inMemory -= t.count;
    this.live.delete(t);
    t.batch = undefined;
    if (t.inSpool > 0) this.spoolPending += t.count;
    else this.finalize(t);
    this.notify();
  }

  private finalize(t: Ticket): void {
    if (t.dropped) this.dropped += t.count;
    else this.delivered += t.count;
  }
}
