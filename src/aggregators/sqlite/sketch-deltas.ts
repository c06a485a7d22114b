/**
 * The SQLite store's sketch rows: a fold appends one delta row per key to
 * `sketches` (the registers its batches raised), and compaction merges a
 * (dimension, day, site)'s delta rows into its bundle in `sketch_days` (one
 * row holding every value's sketch, sketch-bundle.ts), off the write path, in
 * slices of about SLICE_MS. Readers merge the bundles and the delta rows, so
 * results never depend on whether compaction ran.
 */
import type Database from 'better-sqlite3';
import { mergeBlobs } from '../../stats/hll.js';
import { yieldTurn } from '../../stats/store-support.js';
import { decodeBundle, encodeBundle } from './sketch-bundle.js';
import type { SqliteBackend } from './sqlite-backend.js';
import type { SketchEntry } from './write-journal.js';

/** The bound of one background transaction (sketch appends before a fold, compaction). */
export const SLICE_MS = 1;
/** (dimension, day, site) bundles compacted per transaction at most, so compaction never holds the write lock for long. */
const COMPACT_SLICE = 64;

/** A bundle's key: dimension, day, site. */
type GroupKey = readonly [string, string, string];

/**
 * Merges a (dimension, day, site)'s delta rows into its bundle, inside the
 * caller's transaction: the compaction step, and migration 6's move of the
 * rows stored before it.
 *
 * @example
 * const bundle = sketchBundler(db);
 * db.transaction(() => bundle('page', '2026-03-10', 'oblachko'))();
 */
export function sketchBundler(db: Database.Database): (dimension: string, day: string, site: string) => number {
  const groupRows = db.prepare('SELECT value, registers FROM sketches WHERE dimension = ? AND day = ? AND site = ?');
  const deleteGroup = db.prepare('DELETE FROM sketches WHERE dimension = ? AND day = ? AND site = ?');
  const getBundle = db.prepare('SELECT bundle FROM sketch_days WHERE dimension = ? AND day = ? AND site = ?').pluck();
  const putBundle = db.prepare(
    `INSERT INTO sketch_days (dimension, day, site, bundle) VALUES (?, ?, ?, ?)
     ON CONFLICT (dimension, day, site) DO UPDATE SET bundle = excluded.bundle`,
  );
  /** Returns the delta rows merged (0: none, the bundle untouched). */
  return (dimension, day, site) => {
    const rows = groupRows.all(dimension, day, site) as Array<{ value: string; registers: Uint8Array }>;
    if (rows.length === 0) return 0;
    const merged = new Map<string, Uint8Array>();
    const stored = getBundle.get(dimension, day, site) as Uint8Array | undefined;
    if (stored !== undefined) for (const e of decodeBundle(stored)) merged.set(e.value, e.registers);
    for (const r of rows) merged.set(r.value, mergeBlobs(merged.get(r.value), r.registers));
    deleteGroup.run(dimension, day, site);
    const entries = [...merged].map(([value, registers]) => ({ value, registers }));
    putBundle.run(dimension, day, site, encodeBundle(entries));
    return rows.length;
  };
}

/**
 * The sketch rows of one connection. `committed` is called after each
 * transaction this commits (the WAL checkpointer counts them).
 *
 * @example
 * const deltas = sketchDeltas(db, backend, () => checkpointer?.committed());
 * deltas.append(entry);        // inside the fold's transaction
 * await deltas.compact();      // later, in slices
 */
export function sketchDeltas(db: Database.Database, backend: SqliteBackend, committed: () => void) {
  const appendSketch = db.prepare(
    'INSERT INTO sketches (dimension, day, site, value, registers) VALUES (?, ?, ?, ?, ?)',
  );
  const bundle = sketchBundler(db);
  // Bundles with delta rows to merge at the next compaction.
  const dirty = new Map<string, GroupKey>();
  // Delta rows appended since the last compaction began.
  let appended = 0;
  // Delta rows already in the file — left by a writer that stopped before compacting them (a crash,
  // a failed compaction) or by another process still writing — are compacted with this connection's.
  for (const [dimension, day, site, rows] of db
    .prepare('SELECT dimension, day, site, count(*) FROM sketches GROUP BY dimension, day, site')
    .raw()
    .all() as Array<[string, string, string, number]>) {
    dirty.set(`${dimension}\u0000${day}\u0000${site}`, [dimension, day, site]);
    appended += rows;
  }

  /** Append one key's summed delta (if any) and note the key for compaction. Inside a transaction. */
  const append = (m: SketchEntry) => {
    if (m.hll.isEmpty()) return;
    appendSketch.run(...m.key, m.hll.encode());
    appended++;
    backend.invalidate(m.key[0], m.key[1]);
    const [dimension, day, site] = m.key;
    const k = `${dimension}\u0000${day}\u0000${site}`;
    if (!dirty.has(k)) dirty.set(k, [dimension, day, site]);
  };

  /**
   * Before a scheduled fold: append the in-memory deltas from `from` on,
   * until SLICE_MS has passed; returns where to go on. This shortens the
   * fold's own transaction (which must apply the rollups and delete the
   * journal rows at once). Safe to commit apart: sketch merges are idempotent
   * (max), so a journal row holding the same pairs, folded later by any
   * connection, adds nothing to them.
   */
  const drainSlice = db.transaction((entries: readonly SketchEntry[], from: number): number => {
    const started = performance.now();
    let i = from;
    while (i < entries.length) {
      append(entries[i++]!);
      if (performance.now() - started >= SLICE_MS) break;
    }
    return i;
  });

  /** Merge each bundle's delta rows into it, from `from` on, until COMPACT_SLICE bundles or SLICE_MS; returns where to go on. */
  const compactSlice = db.transaction((keys: readonly GroupKey[], from: number) => {
    const started = performance.now();
    const end = Math.min(keys.length, from + COMPACT_SLICE);
    let i = from;
    while (i < end) {
      const [dimension, day, site] = keys[i++]!;
      bundle(dimension, day, site);
      if (performance.now() - started >= SLICE_MS) break;
    }
    return i;
  });

  return {
    append,

    /** Delta rows appended since the last compaction began. */
    get deltaRows(): number {
      return appended;
    },

    /**
     * Append in-memory deltas in short transactions, a turn of the loop
     * between them, releasing each once committed (a fold skips emptied
     * deltas). Stops when `stop()` says so, or when a fold by a read in
     * between released the list (its length drops to 0).
     */
    async drain(entries: readonly SketchEntry[], stop: () => boolean): Promise<void> {
      for (let i = 0; i < entries.length && !stop(); ) {
        const from = i;
        i = drainSlice.immediate(entries, from);
        for (let j = from; j < i; j++) entries[j]!.hll.release();
        committed();
        await yieldTurn();
      }
    },

    /** Compact the dirty bundles in slices, yielding between them; a failed slice leaves its bundles for next time. */
    async compact(): Promise<void> {
      const keys = [...dirty.values()];
      dirty.clear();
      appended = 0;
      for (let i = 0; i < keys.length; ) {
        const from = i;
        try {
          i = compactSlice.immediate(keys, from);
        } catch {
          i = Math.min(keys.length, from + COMPACT_SLICE);
          for (let j = from; j < i; j++) dirty.set(keys[j]!.join('\u0000'), keys[j]!);
        }
        committed();
        await yieldTurn();
      }
    },

    /** Compact every dirty bundle now, without yielding (close). Throws on the first failure; deltas stay valid. */
    compactNow(): void {
      const keys = [...dirty.values()];
      for (let i = 0; i < keys.length; ) i = compactSlice.immediate(keys, i);
    },
  };
}
