/**
 * An in-memory sink aggregator for micro-benchmarks: it takes each batch at
 * once and only counts it, so the measured cost is the request path and the
 * pipeline's own, with no store behind it.
 */
import type { Aggregator, Batch } from '../../src/aggregators/aggregator.js';

export interface CountingSink extends Aggregator {
  readonly events: number;
  readonly batches: number;
  readonly sketches: number;
}

export function countingSink(name = 'counting-sink'): CountingSink {
  let events = 0;
  let batches = 0;
  let sketches = 0;
  return {
    name,
    write(batch: Batch): Promise<void> {
      events += batch.events.length;
      sketches += batch.sketches.length;
      batches++;
      return Promise.resolve();
    },
    get events() {
      return events;
    },
    get batches() {
      return batches;
    },
    get sketches() {
      return sketches;
    },
  };
}
