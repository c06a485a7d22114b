/**
 * Raw-event scans that share a pass over the blocks. A dashboard asks for an
 * aggregate, a timeseries and eight breakdowns at once; with a filter, each
 * of them reads every block of the range (a 30-day filtered dashboard at
 * 1 M events read the same 30 MB ten times: ≈ 520 ms). Scans asked for in
 * one run of the microtask queue, over the same range, now read each block
 * once and hand it to every one of them (≈ 1/5 of the time, docs/aggregators.md).
 *
 * They still run before any other task of the event loop — no write, fold
 * or timer comes between a query's rollup reads and its raw scan, as before
 * — and a damaged block fails only the scans that read it.
 */
import type { RawSpec } from '../../stats/backend.js';
import type { BlockStore } from './block-store.js';
import type { BlockAccumulator } from './event-block-query.js';

interface Scan {
  acc: BlockAccumulator<unknown>;
  withSessions: boolean;
  failed: unknown;
  resolve(rows: unknown[]): void;
  reject(err: unknown): void;
}

/**
 * @example
 * const scan = sharedScans(blocks);
 * const rows = await scan(spec, blockCounts(spec), false); // with any others asked for meanwhile
 */
export function sharedScans(
  blocks: Pick<BlockStore, 'blockSpans'>,
): <T>(spec: Pick<RawSpec, 'from' | 'to'>, acc: BlockAccumulator<T>, withSessions: boolean) => Promise<T[]> {
  /** Waiting scans by range ("from,to"), in the order asked. */
  let waiting = new Map<string, { from: number; to: number; scans: Scan[] }>();

  const run = () => {
    const ranges = waiting;
    waiting = new Map();
    for (const { from, to, scans } of ranges.values()) pass(from, to, scans);
  };

  /** One pass over the blocks of [from, to) for every scan of the range; each settles once, after it. */
  const pass = (from: number, to: number, scans: Scan[]) => {
    const withSessions = scans.some((s) => s.withSessions);
    try {
      for (const span of blocks.blockSpans(from, to, withSessions)) {
        let block: ReturnType<typeof span.decode> | undefined;
        for (const s of scans) {
          if (s.failed !== undefined) continue;
          try {
            block ??= span.decode();
            s.acc.add(block);
          } catch (err) {
            s.failed = err;
          }
        }
      }
    } catch (err) {
      // Reading the rows failed (the connection, not a block): every scan still waiting fails.
      for (const s of scans) if (s.failed === undefined) s.failed = err;
    }
    for (const s of scans) {
      if (s.failed !== undefined) {
        s.reject(s.failed);
        continue;
      }
      try {
        s.resolve(s.acc.result());
      } catch (err) {
        s.reject(err);
      }
    }
  };

  return <T>(spec: Pick<RawSpec, 'from' | 'to'>, acc: BlockAccumulator<T>, withSessions: boolean) =>
    new Promise<T[]>((resolve, reject) => {
      if (waiting.size === 0) queueMicrotask(run);
      const key = `${spec.from},${spec.to}`;
      let range = waiting.get(key);
      if (range === undefined) {
        range = { from: spec.from, to: spec.to, scans: [] };
        waiting.set(key, range);
      }
      range.scans.push({
        acc: acc as BlockAccumulator<unknown>,
        withSessions,
        failed: undefined,
        resolve: resolve as (rows: unknown[]) => void,
        reject,
      });
    });
}
