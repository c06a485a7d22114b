/**
 * Sketches on PostgreSQL as append-only deltas. A write appends one row per
 * sketch key (the registers its batch brought: `sketchDeltas`), in the batch's
 * single statement; compaction folds the rows of a key into one, off the write
 * path, so reads stay cheap. Registers merge by max, so a row read
 * twice or a delta replayed never changes a result; what must never happen is
 * losing one, hence:
 *
 * - one compactor at a time per schema (a transaction-scoped advisory lock:
 *   a background compaction that finds it taken keeps its keys for later,
 *   close() waits for it), so no two compactors split a key's rows between
 *   them; writers never wait at all — they only insert;
 * - the rows are locked, deleted by their `ctid` and replaced by the merged
 *   row in one transaction, so a reader sees either the old rows or the
 *   merged one; rows inserted after (not visible to it) are left for next time.
 */

import { mergeBlobs, mergePairsIntoBlob } from '../../stats/hll.js';
import { sketchStoreKey } from '../../stats/memory-backend.js';
import type { SketchUpdate } from '../aggregator.js';
import type { PgQueryable } from './driver.js';

/** A sketch key: dimension, day, site, value. */
export type SketchKeyTuple = readonly [string, string, string, string];

/** Keys compacted per transaction, so no compaction holds row locks for long. */
export const COMPACT_SLICE = 256;

/** The key's text form for maps (NUL-separated). */
export function sketchKeyId(k: SketchKeyTuple): string {
  return sketchStoreKey(k[0], k[1], k[2], k[3]);
}

const toBuffer = (v: Uint8Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** A key's delta row: the registers one batch brought, as a stored blob. */
export interface SketchDelta {
  key: SketchKeyTuple;
  blob: Buffer;
}

/**
 * One delta blob per key of a batch's sketch updates (updates of the same key
 * merged; keys left with no valid register dropped).
 *
 * @example
 * const rows = sketchDeltas(batch.sketches); // → unnest($n::bytea[]) in the write
 */
export function sketchDeltas(updates: readonly SketchUpdate[]): SketchDelta[] {
  const byKey = new Map<string, { key: SketchKeyTuple; blob: Uint8Array | undefined }>();
  for (const u of updates) {
    const key = [u.dimension, u.day, u.site, u.value] as const;
    const id = sketchKeyId(key);
    const prev = byKey.get(id);
    const blob = mergePairsIntoBlob(prev?.blob, u.registers);
    if (prev === undefined) byKey.set(id, { key, blob });
    else prev.blob = blob;
  }
  const out: SketchDelta[] = [];
  // A blob of one byte is a sparse sketch with no register: nothing to store.
  for (const d of byKey.values())
    if (d.blob !== undefined && d.blob.length > 1) out.push({ key: d.key, blob: toBuffer(d.blob) });
  return out;
}

/**
 * Fold each key's rows into one, in the transaction the caller opened on
 * `client`. Returns how many rows it removed (rows before minus rows after),
 * or null when another compactor holds the lock and `wait` is false.
 *
 * @example
 * await client.query('BEGIN');
 * const removed = await compactSketchKeys(client, '"privacy_log"', keys);
 * await client.query('COMMIT');
 */
export async function compactSketchKeys(
  client: PgQueryable,
  quotedSchema: string,
  keys: readonly SketchKeyTuple[],
  wait = true,
): Promise<number | null> {
  if (keys.length === 0) return 0;
  const s = quotedSchema;
  const lock = await client.query(
    wait
      ? 'SELECT pg_advisory_xact_lock(hashtext($1)) AS got, true AS ok'
      : 'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok',
    [`privacy-log:compact:${quotedSchema}`],
  );
  // Another server is compacting: leave these keys for a later round.
  if (lock.rows[0]?.ok !== true) return null;
  const locked = await client.query(
    `SELECT t.ctid::text AS tid, t.dimension, t.day, t.site, t.value, t.registers FROM ${s}.sketches t
     WHERE (t.dimension, t.day, t.site, t.value) IN (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]))
     ORDER BY t.dimension, t.day, t.site, t.value
     FOR UPDATE OF t`,
    [keys.map((k) => k[0]), keys.map((k) => k[1]), keys.map((k) => k[2]), keys.map((k) => k[3])],
  );
  const groups = new Map<string, { key: SketchKeyTuple; tids: string[]; blob: Uint8Array | undefined }>();
  for (const r of locked.rows) {
    const key = [String(r.dimension), String(r.day), String(r.site), String(r.value)] as const;
    const id = sketchKeyId(key);
    let g = groups.get(id);
    if (g === undefined) {
      g = { key, tids: [], blob: undefined };
      groups.set(id, g);
    }
    g.tids.push(String(r.tid));
    g.blob = mergeBlobs(g.blob, r.registers as Uint8Array);
  }
  const merged = [...groups.values()].filter((g) => g.tids.length > 1 && g.blob !== undefined);
  if (merged.length === 0) return 0;
  await client.query(
    `WITH gone AS (DELETE FROM ${s}.sketches WHERE ctid = ANY($1::tid[]))
     INSERT INTO ${s}.sketches (dimension, day, site, value, registers)
     SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])`,
    [
      merged.flatMap((g) => g.tids),
      merged.map((g) => g.key[0]),
      merged.map((g) => g.key[1]),
      merged.map((g) => g.key[2]),
      merged.map((g) => g.key[3]),
      merged.map((g) => toBuffer(g.blob!)),
    ],
  );
  return merged.reduce((n, g) => n + g.tids.length - 1, 0);
}

/** Up to `limit` keys that have more than one row (for a sweep after a crash left deltas behind). */
export async function uncompactedKeys(db: PgQueryable, quotedSchema: string, limit: number): Promise<SketchKeyTuple[]> {
  const r = await db.query(
    `SELECT dimension, day, site, value FROM ${quotedSchema}.sketches
     GROUP BY 1, 2, 3, 4 HAVING count(*) > 1 LIMIT ${Math.max(1, Math.floor(limit))}`,
  );
  return r.rows.map((x) => [String(x.dimension), String(x.day), String(x.site), String(x.value)] as const);
}

/** Compact after this many writes of this aggregator (off the write path). */
export const COMPACT_EVERY_WRITES = 20;

export interface SketchCompactor {
  /** Note the keys a committed write appended to; may start a compaction in the background. */
  touched(keys: readonly SketchKeyTuple[]): void;
  /** Compact every key touched so far (waits for a running compaction first). */
  flush(): Promise<void>;
}

/**
 * Tracks the keys this aggregator appended deltas to and compacts them every
 * `every` writes, in slices of COMPACT_SLICE keys, each slice one transaction
 * run by `inTx`. A failed slice keeps its keys for the next round.
 *
 * @example
 * const compactor = sketchCompactor((keys) => tx('compact', (c) => compactSketchKeys(c, quoted, keys)));
 */
export function sketchCompactor(
  inTx: (keys: readonly SketchKeyTuple[], wait: boolean) => Promise<number | null>,
  every = COMPACT_EVERY_WRITES,
): SketchCompactor {
  let dirty = new Map<string, SketchKeyTuple>();
  let writes = 0;
  let running: Promise<void> | undefined;

  const run = async (wait: boolean): Promise<void> => {
    const keys = [...dirty.values()];
    dirty = new Map();
    for (let i = 0; i < keys.length; i += COMPACT_SLICE) {
      const slice = keys.slice(i, i + COMPACT_SLICE);
      let done = false;
      try {
        done = (await inTx(slice, wait)) !== null;
      } catch {
        done = false;
      }
      if (!done) for (const k of keys.slice(i)) dirty.set(sketchKeyId(k), k);
      if (!done) return;
    }
  };
  const start = (wait: boolean): Promise<void> => {
    running ??= run(wait).finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    touched(keys) {
      for (const k of keys) dirty.set(sketchKeyId(k), k);
      if (++writes < every) return;
      writes = 0;
      if (!running) void start(false);
    },
    async flush() {
      await running;
      if (dirty.size > 0) await start(true);
    },
  };
}
