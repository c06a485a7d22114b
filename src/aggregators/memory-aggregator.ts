/**
 * memoryAggregator: keeps events and sketches in memory and answers stats
 * queries. For tests and development; the reference the SQL stores are
 * checked against.
 */
import { assertKnownKeys, ERROR_CODES, invalidOption, PrivacyLogError } from '../errors.js';
import type { PrivacyEvent } from '../event.js';
import { createStatsEngine } from '../stats/engine.js';
import type { EventRow } from '../stats/event-columns.js';
import { mergePairsIntoBlob } from '../stats/hll.js';
import { memoryBackend, type SketchStore, sketchStoreKey } from '../stats/memory-backend.js';
import type { StatsQuery, StatsResult } from '../stats/query.js';
import { checkBatch } from '../stats/store-support.js';
import { addDays, isDay } from '../stats/time-range.js';
import type { Batch, StatsAggregator } from './aggregator.js';

export interface MemoryAggregatorOptions {
  /** Name in pipeline metrics. Default 'memory'. */
  name?: string;
}

export const DEFAULT_MEMORY_NAME = 'memory';

export interface MemoryAggregator extends StatsAggregator {
  /** Every stored event, in arrival order, each id once. */
  readonly events: PrivacyEvent[];
  forget(sessionId: string): Promise<number>;
  salt(day: string, candidate: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * @example
 * const memory = memoryAggregator();
 * const privacy = privacyLog({ aggregators: [memory] });
 * // later: memory.events, await memory.query({ type: 'aggregate', period: 'day', metrics: ['pageviews'] })
 */
export function memoryAggregator(options: MemoryAggregatorOptions = {}): MemoryAggregator {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('memoryAggregator()', 'options', 'an object');
  assertKnownKeys(options, ['name'], 'memoryAggregator()');
  const name = options.name ?? DEFAULT_MEMORY_NAME;
  if (typeof name !== 'string' || name.length === 0)
    throw invalidOption('memoryAggregator()', 'name', 'a non-empty string');

  const events: PrivacyEvent[] = [];
  const rows = new Map<string, EventRow>();
  const sketches: SketchStore = new Map();
  const salts = new Map<string, string>();
  const engine = createStatsEngine(memoryBackend(() => rows.values(), sketches));
  let closed = false;

  const assertOpen = () => {
    if (closed)
      throw new PrivacyLogError(ERROR_CODES.CLOSED, `${name}: the aggregator is closed; create a new one.`, {
        retryable: false,
      });
  };

  return {
    name,
    events,
    async write(batch: Batch): Promise<void> {
      assertOpen();
      const b = checkBatch(name, batch, { ordered: false });
      b.rows.forEach((row, i) => {
        if (rows.has(row.id)) return;
        rows.set(row.id, row);
        events.push(b.events[i]!);
      });
      for (const u of b.sketches) {
        const key = sketchStoreKey(u.dimension, u.day, u.site, u.value);
        sketches.set(key, mergePairsIntoBlob(sketches.get(key), u.registers));
      }
    },
    async forget(sessionId: string): Promise<number> {
      assertOpen();
      let n = 0;
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!;
        if (e.session?.id === sessionId) {
          events.splice(i, 1);
          rows.delete(e.id);
          n++;
        }
      }
      return n;
    },
    async salt(day: string, candidate: string): Promise<string> {
      assertOpen();
      if (!isDay(day)) throw invalidOption(`${name}.salt()`, 'day', 'a day YYYY-MM-DD');
      const oldest = addDays(day, -1);
      for (const d of salts.keys()) if (d < oldest) salts.delete(d);
      const have = salts.get(day);
      if (have !== undefined) return have;
      salts.set(day, candidate);
      return candidate;
    },
    query(q: StatsQuery): Promise<StatsResult> {
      return engine.query(q);
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}
